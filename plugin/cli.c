/* cli.c -- see include/cli.h (under construction) */
