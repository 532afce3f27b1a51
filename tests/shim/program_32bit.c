/* A 32-bit dynamically linked program (built only where the toolchain can)
 * into which the 64-bit shim cannot load: greenrun --check must say so without
 * running it. No libc: it writes and exits with its own system calls. */
void _start(void) {
    static const char msg[] = "32-bit program ran\n";
    __asm__ volatile("int $0x80" : : "a"(4), "b"(1), "c"(msg), "d"(sizeof msg - 1));
    __asm__ volatile("int $0x80" : : "a"(1), "b"(0));
}
