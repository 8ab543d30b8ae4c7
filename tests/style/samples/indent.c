/* spaces for indentation */
int f(void)
{
        return 0;
}
