// Starting a child process for green::Popen: the PATH lookup, the pipes and the
// posix_spawn call.
//
// posix_spawn (a vfork-like clone, cheaper than fork for a large parent) serves
// every option Popen has: dup2 file actions, addchdir_np (glibc 2.29), the
// signal mask and defaults, exec errors returned to the caller. A fork+exec
// path would be needed only for what it cannot do (code run in the child before
// the exec), which Popen does not offer.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "green/subprocess.hpp"

namespace green::detail {

// A started child and this process's ends of its pipes (-1 where not piped):
// non-blocking and close-on-exec, owned by the caller.
struct SpawnedChild {
    pid_t pid = -1;
    int in = -1;   // written: the child's stdin
    int out = -1;  // read: the child's stdout
    int err = -1;  // read: the child's stderr
};

// Checks the arguments (std::invalid_argument), finds the program, makes the
// pipes and starts the child with posix_spawn. Throws std::system_error naming
// the program (or the working directory) when it cannot be run; then nothing
// is left open and no child is left behind (glibc reaps one whose exec failed).
SpawnedChild spawn_child(const std::vector<std::string>& argv, const PopenOptions& options);

}  // namespace green::detail
