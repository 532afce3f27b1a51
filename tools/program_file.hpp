// What greenrun learns from a program's file before it preloads the shim into
// it, without running any of it: what kind of file it is and, for a dynamically
// linked ELF program or a #! script, what the kernel would start first.
#pragma once

#include <string>

enum class FileKind {
    elf_dynamic,    // an ELF program with a loader (PT_INTERP): `interpreter`
    elf_static,     // an ELF program without one: no libc calls to interpose
    elf_foreign,    // ELF of another class or machine than greenrun's own: `why`
    elf_truncated,  // starts like ELF but ends before its headers do
    script,         // starts with "#!": `interpreter` is the program named there
    other,          // anything else (execvp hands it to /bin/sh)
    unreadable,     // cannot be opened for reading: `why`
};

struct ProgramFile {
    FileKind kind = FileKind::other;
    std::string interpreter;
    std::string why;  // elf_foreign: "a 32-bit program"...; unreadable: strerror
};

ProgramFile inspect_program(const std::string& path);
