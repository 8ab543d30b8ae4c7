/* buf.c -- see include/buf.h (under construction) */
