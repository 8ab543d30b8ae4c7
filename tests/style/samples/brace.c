/* brace at the end of the head */
int f(void) {
	return 0;
}
