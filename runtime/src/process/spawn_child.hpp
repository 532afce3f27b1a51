// Starting a child process for green::Popen: checking the options, making the
// pipes and planning the child's steps for start_child (process/child_exec.hpp).
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

// Checks the arguments (std::invalid_argument), makes the pipes and starts the
// child, which finds the program as execvp does. Throws std::system_error
// naming the program (or the working directory) when it cannot be run; then
// nothing is left open and no child is left behind.
SpawnedChild spawn_child(const std::vector<std::string>& argv, const PopenOptions& options);

}  // namespace green::detail
