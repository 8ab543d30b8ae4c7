/* log.c -- see include/log.h (under construction) */
