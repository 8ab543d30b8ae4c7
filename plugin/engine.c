/* engine.c -- see include/engine.h (under construction) */
