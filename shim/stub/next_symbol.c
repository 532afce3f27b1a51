// See next_symbol.h. The search order is the loader's for the objects loaded at
// exec (r_map's order is the breadth-first order of their DT_NEEDED lists, the
// preloads after the program); it stops at libc, before any object a dlopen
// added, which may not be in the global scope. A symbol's default version is
// the one its version index does not hide, as dlsym without a version takes it;
// failing that, a hidden one (glibc keeps some symbols only under the versions
// old binaries use, and the stub wants those then).
#define _GNU_SOURCE
#include "next_symbol.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

struct tables {
    const struct link_map* object;
    const uint32_t* gnu_hash;  // null: a table only the loader reads
    const ElfW(Sym)* symbols;
    const char* strings;
    const ElfW(Versym)* versions;  // may be absent
};

// The objects from the one after the asker to libc, in the loader's order.
enum { most_objects = 32 };
static struct tables objects[most_objects];
static int object_count;

static void read_tables(const struct link_map* m, struct tables* t);

int green_next_symbol_init(const void* self) {
    Dl_info info;
    struct link_map* own = NULL;
    if (!dladdr1(self, &info, (void**)&own, RTLD_DL_LINKMAP) || !own) return 0;
    int count = 0;
    for (const struct link_map* m = own->l_next; m && count < most_objects; m = m->l_next) {
        read_tables(m, &objects[count++]);
        const char* slash = m->l_name ? strrchr(m->l_name, '/') : NULL;
        if (slash && !strcmp(slash + 1, "libc.so.6")) {
            object_count = count;
            return 1;
        }
    }
    return 0;  // libc before the asker, or too far after it
}

// A dynamic-section address: adjusted to where the object is by the loader,
// except where it keeps the section read-only (the vDSO).
static const void* address_in(const struct link_map* m, ElfW(Addr) p) {
    return (const void*)(p < m->l_addr ? p + m->l_addr : p);
}

static void read_tables(const struct link_map* m, struct tables* t) {
    memset(t, 0, sizeof *t);
    t->object = m;
    for (const ElfW(Dyn)* d = m->l_ld; d && d->d_tag != DT_NULL; ++d) {
        switch (d->d_tag) {
        case DT_GNU_HASH: t->gnu_hash = address_in(m, d->d_un.d_ptr); break;
        case DT_SYMTAB: t->symbols = address_in(m, d->d_un.d_ptr); break;
        case DT_STRTAB: t->strings = address_in(m, d->d_un.d_ptr); break;
        case DT_VERSYM: t->versions = address_in(m, d->d_un.d_ptr); break;
        default: break;
        }
    }
    if (!t->symbols || !t->strings || (t->gnu_hash && (t->gnu_hash[0] == 0 || t->gnu_hash[2] == 0))) t->gnu_hash = NULL;
}

static uint32_t gnu_hash(const char* s) {
    uint32_t h = 5381;
    for (; *s; ++s) h = h * 33 + (unsigned char)*s;
    return h;
}

enum found { absent, defined, loader_only };

static enum found found_in(const struct tables* t, const ElfW(Sym)* s, void** out) {
    const unsigned type = ELF64_ST_TYPE(s->st_info);
    if (type == STT_GNU_IFUNC || type == STT_TLS) return loader_only;
    *out = (void*)(t->object->l_addr + s->st_value);
    return defined;
}

static enum found lookup_in(const struct tables* t, const char* name, uint32_t h, void** out) {
    // The vDSO defines none of the symbols interposed; any other object
    // without a GNU hash table is searched by the loader.
    if (!t->gnu_hash) return t->object->l_name && strstr(t->object->l_name, "vdso") ? absent : loader_only;
    const uint32_t buckets_count = t->gnu_hash[0], first_symbol = t->gnu_hash[1], bloom_words = t->gnu_hash[2],
                   bloom_shift = t->gnu_hash[3];
    const ElfW(Addr)* bloom = (const ElfW(Addr)*)&t->gnu_hash[4];
    const uint32_t* buckets = (const uint32_t*)&bloom[bloom_words];
    const uint32_t* chain = &buckets[buckets_count];
    const unsigned bits = sizeof(ElfW(Addr)) * 8;
    const ElfW(Addr) mask = ((ElfW(Addr))1 << (h % bits)) | ((ElfW(Addr))1 << ((h >> bloom_shift) % bits));
    if ((bloom[(h / bits) % bloom_words] & mask) != mask) return absent;
    uint32_t i = buckets[h % buckets_count];
    if (i < first_symbol) return absent;
    const ElfW(Sym)* old = NULL;  // a definition under a version only old binaries ask for
    for (;; ++i) {
        const uint32_t link = chain[i - first_symbol];
        const ElfW(Sym)* s = &t->symbols[i];
        const unsigned bind = ELF64_ST_BIND(s->st_info);
        const unsigned version = t->versions ? t->versions[i] : 1;
        if ((link | 1) == (h | 1) && s->st_shndx != SHN_UNDEF && (bind == STB_GLOBAL || bind == STB_WEAK) &&
            (version & 0x7fff) != 0 && !strcmp(name, t->strings + s->st_name)) {
            if (!(version & 0x8000)) return found_in(t, s, out);
            if (!old) old = s;
        }
        if (link & 1) return old ? found_in(t, old, out) : absent;
    }
}

void* green_next_symbol(const char* name) {
    const uint32_t h = gnu_hash(name);
    for (int i = 0; i < object_count; ++i) {
        void* found = NULL;
        switch (lookup_in(&objects[i], name, h, &found)) {
        case defined: return found;
        case loader_only: return NULL;
        case absent: break;
        }
    }
    return NULL;
}
