/* charset.c -- see include/charset.h (under construction) */
