// shim/stub/next_symbol.c against the loader: for every symbol the preload
// stub interposes, and a few other names, the definition it finds after this
// program is the one dlsym(RTLD_NEXT) gives (the old version where glibc keeps
// only that), and it finds most of them itself rather than leaving them to dlsym.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

#include "../../shim/stub/next_symbol.h"
#include "../../shim/stub/stub_symbols.h"

#define NAME(name, when) #name,
static const char* const names[] = {GREEN_STUB_SYMBOLS(NAME) "malloc", "printf", "environ",
                                    "strlen" /* an IFUNC: left to dlsym */,
                                    "errno" /* TLS: left to dlsym */, "no_such_symbol_anywhere"};

int main(void) {
    if (!green_next_symbol_init(names)) {
        puts("the objects after this program were not found");
        return 1;
    }
    int found = 0, differ = 0;
    const int count = (int)(sizeof names / sizeof names[0]);
    for (int i = 0; i < count; ++i) {
        void* ours = green_next_symbol(names[i]);
        void* loader = dlsym(RTLD_NEXT, names[i]);
        // A symbol glibc keeps only under old versions: the one it has.
        static const char* const old_versions[] = {"GLIBC_2.2.5", "GLIBC_2.3.2", "GLIBC_2.4", "GLIBC_2.12"};
        for (unsigned v = 0; !loader && v < sizeof old_versions / sizeof old_versions[0]; ++v)
            loader = dlvsym(RTLD_NEXT, names[i], old_versions[v]);
        if (!ours) continue;
        ++found;
        if (ours != loader) {
            printf("%s: %p, the loader's %p\n", names[i], ours, loader);
            ++differ;
        }
    }
    printf("%d of %d names found, %d differ from the loader's\n", found, count, differ);
    return differ || found < count - 10;
}
