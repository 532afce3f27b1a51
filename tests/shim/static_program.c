/* A statically linked program, which greenrun must refuse: LD_PRELOAD cannot
 * reach its libc calls. */
#include <stdio.h>

int main(void) {
    puts("static program ran");
    return 0;
}
