/*
 * print_conf_keys.c -- print the configuration keys the parser accepts.
 *
 * One line per entry of conf_keys[] (include/conf.h), the parser's own key
 * table: "Name<TAB>default<TAB>repeatable|single".  check-conf-keys.sh
 * compares the names with the keys documented in codepage-milter.conf(5)
 * and in the example configuration, so that the three cannot drift apart.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "conf.h"

int
main(void)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key_info *key = &conf_keys[i];

		printf("%s\t%s\t%s\n", key->name,
		    key->default_text != NULL ? key->default_text : "",
		    key->repeatable ? "repeatable" : "single");
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return EXIT_FAILURE;
	return EXIT_SUCCESS;
}
