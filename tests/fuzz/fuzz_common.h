/*
 * fuzz_common.h -- shared helpers of the fuzz targets (tests/fuzz/).
 *
 * Every target defines LLVMFuzzerTestOneInput().  Built with libFuzzer
 * (--enable-fuzzing, clang) the fuzzer supplies main(); otherwise replay.c
 * supplies a main() that runs the target over files and directories, so the
 * seed corpora and every crash found become ordinary `make check` tests.
 *
 * fuzz_fail() reports a broken invariant and aborts: libFuzzer then saves the
 * input as a crash, and the replay driver exits non-zero.
 */
#ifndef CPM_FUZZ_COMMON_H
#define CPM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A private scratch directory for the process (created on first use,
 * under $TMPDIR), for targets that need files. */
const char *fuzz_tmpdir(void);

#endif
