#include "program_file.hpp"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace {

// greenrun is built like the shim it preloads: a 64-bit program for one machine.
static_assert(sizeof(void*) == 8, "greenrun reads 64-bit ELF headers only");

Elf64_Half own_machine() {
    static const Elf64_Half machine = [] {
        Elf64_Ehdr eh{};
        const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return Elf64_Half{EM_NONE};
        const bool ok = pread(fd, &eh, sizeof eh, 0) == sizeof eh;
        close(fd);
        return ok ? eh.e_machine : Elf64_Half{EM_NONE};
    }();
    return machine;
}

ProgramFile inspect_elf64(int fd, const Elf64_Ehdr& eh) {
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        if (pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + std::size_t(i) * eh.e_phentsize)) != sizeof ph)
            return {FileKind::elf_truncated, "", ""};
        if (ph.p_type != PT_INTERP) continue;
        std::string interp(ph.p_filesz, '\0');
        if (ph.p_filesz == 0 || ph.p_filesz > 4096 ||
            pread(fd, interp.data(), interp.size(), static_cast<off_t>(ph.p_offset)) != static_cast<ssize_t>(interp.size()))
            return {FileKind::elf_truncated, "", ""};
        interp.resize(std::strlen(interp.c_str()));
        return {FileKind::elf_dynamic, interp, ""};
    }
    return {FileKind::elf_static, "", ""};
}

// "#!/usr/bin/env python3" names /usr/bin/env.
std::string script_interpreter(std::string_view head) {
    head.remove_prefix(2);
    head = head.substr(0, head.find('\n'));
    const auto start = head.find_first_not_of(" \t");
    if (start == std::string_view::npos) return "";
    head.remove_prefix(start);
    return std::string(head.substr(0, head.find_first_of(" \t")));
}

}  // namespace

ProgramFile inspect_program(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {FileKind::unreadable, "", std::strerror(errno)};
    char head[256] = {};
    const ssize_t n = pread(fd, head, sizeof head, 0);
    ProgramFile f;
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
        f = {FileKind::script, script_interpreter(std::string_view(head, static_cast<std::size_t>(n))), ""};
    } else if (n >= SELFMAG && std::memcmp(head, ELFMAG, SELFMAG) == 0) {
        Elf64_Ehdr eh{};
        const bool elf32 = n > EI_CLASS && head[EI_CLASS] == ELFCLASS32;
        if (n < static_cast<ssize_t>(elf32 ? sizeof(Elf32_Ehdr) : sizeof eh)) {
            f.kind = FileKind::elf_truncated;
        } else if (head[EI_CLASS] != ELFCLASS64) {
            f = {FileKind::elf_foreign, "", elf32 ? "a 32-bit program" : "not a 64-bit program"};
        } else {
            std::memcpy(&eh, head, sizeof eh);
            f = eh.e_machine == own_machine() ? inspect_elf64(fd, eh)
                                              : ProgramFile{FileKind::elf_foreign, "", "built for another machine"};
        }
    }
    close(fd);
    return f;
}
