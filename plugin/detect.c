/* detect.c -- see include/detect.h (under construction) */
