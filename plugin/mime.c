/* mime.c -- see include/mime.h (under construction) */
