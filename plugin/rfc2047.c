/* rfc2047.c -- see include/rfc2047.h (under construction) */
