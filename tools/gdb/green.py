"""gdb commands for programs that use green (needs the program's debug info).

    (gdb) source tools/gdb/green.py        # or the installed share/green/gdb/green.py
    (gdb) info greenlets                   # the greenlets of the selected thread's hub
    (gdb) greenlet bt ID                   # backtrace of a suspended greenlet (ID from
                                           # info greenlets, or "hub" for the hub's fiber)

`greenlet bt` borrows the selected thread's registers: it loads the greenlet's
saved stack, frame and resume address, prints the backtrace and puts the thread's own
registers back. Both are tested on live processes (tests/tools/gdb_test.cpp);
core files are not: `greenlet bt` cannot work there (gdb does not write a
core file's registers). x86-64 only.
"""
import gdb

STATES = {"unstarted": "not started", "ready": "ready", "running": "running", "parked": "waiting", "dead": "dead"}

# The first frame of every fiber: unwinding stops there (below it is whatever
# the fresh stack held).
FIBER_ENTRIES = ("green::detail::Hub::greenlet_entry", "green::detail::Hub::hub_entry")
MAX_FRAMES = 256

# A suspended fiber's context (green::detail::FiberContext, x86-64) keeps its
# stack pointer, resume address and frame pointer; every other register live
# across the switch was spilled by the compiler into the suspended frame, which
# gdb's unwinder reads.
SAVED = [("rsp", "sp"), ("rip", "pc"), ("rbp", "frame")]
# Built with the meson option boost_switch, `pc` stays null and `sp` is
# Boost.Context's continuation: jump_fcontext saved, from that address, the
# mxcsr/x87 control word, r12, r13, r14, r15, rbx, rbp and the return address
# of its call; the suspended stack continues right after.
BOOST_SAVED = [("r12", 8), ("r13", 16), ("r14", 24), ("r15", 32), ("rbx", 40), ("rbp", 48), ("rip", 56)]
BOOST_RESUMED_SP = 64
RESTORED = ["rip", "rsp", "rbp", "rbx", "r12", "r13", "r14", "r15"]


class CxxLanguage:
    """Parses expressions as C++ even when the selected frame is C (inside libc)."""

    def __enter__(self):
        self.language = gdb.parameter("language")
        gdb.execute("set language c++", to_string=True)

    def __exit__(self, *exc):
        gdb.execute("set language " + self.language, to_string=True)


def hub():
    """The selected thread's green::detail::Hub, or None."""
    with CxxLanguage():
        try:
            h = gdb.parse_and_eval("green::detail::tls_hub")
        except gdb.error:
            try:  # no thread-local access (no libthread_db): ask the live process
                h = gdb.parse_and_eval("green::detail::Hub::current_if_any()")
            except gdb.error as e:
                raise gdb.GdbError("green: cannot find this thread's hub (is the program built with -g?): %s" % e)
    return None if int(h) == 0 else h.dereference()


def std_string(v):
    return v["_M_dataplus"]["_M_p"].string(length=int(v["_M_string_length"]))


def core_type():
    """green::detail::GreenletCore, looked up once until new code is loaded."""
    if not hasattr(core_type, "cached"):
        with CxxLanguage():
            core_type.cached = gdb.lookup_type("green::detail::GreenletCore")
    return core_type.cached


gdb.events.new_objfile.connect(lambda event: core_type.__dict__.pop("cached", None))


class Greenlet:
    """One GreenletCore, read field by field: going through a GreenletCore value
    would make gdb look up the dynamic type (a lambda's Body) of each one."""

    def __init__(self, address):
        self.address = address

    def __getitem__(self, name):
        field = next(f for f in core_type().fields() if f.name == name)
        return gdb.Value(self.address + field.bitpos // 8).cast(field.type.pointer()).dereference()


def greenlets(h):
    """The hub's greenlets, oldest first."""
    core = core_type().pointer()
    head = h["all_"]["head_"]
    node = head["next"]
    while int(node) != int(head.address):
        yield Greenlet(int(node.cast(core)))
        node = node["next"]


def unnamed_prefix():
    """What the program calls an unnamed greenlet before its id (runtime/src/diag/report.cpp)."""
    if not hasattr(unnamed_prefix, "cached"):
        with CxxLanguage():
            unnamed_prefix.cached = gdb.parse_and_eval("green::detail::unnamed_greenlet_prefix").string()
    return unnamed_prefix.cached


gdb.events.new_objfile.connect(lambda event: unnamed_prefix.__dict__.pop("cached", None))


def describe(g, running):
    name = std_string(g["name"]) or "%s%d" % (unnamed_prefix(), int(g["id"]))
    state = str(g["state"]).rsplit("::", 1)[-1]
    state = STATES.get(state, state)
    line = "%s#%-4d %-24s %s" % ("*" if running else " ", int(g["id"]), name, state)
    if state == "waiting" and int(g["wait_what"]):
        line += " in " + g["wait_what"].string()
        if int(g["wait_on"]):
            line += " (%s)" % hex(int(g["wait_on"]))
    if int(g["start_timer"]):
        line += " (spawn_later, timer pending)"
    if int(g["ctx"]["stack_size"]):
        line += ", stack %d KiB" % (int(g["ctx"]["stack_size"]) // 1024)
    return line


def fiber_depth():
    """Frames from the newest down to the fiber's entry function."""
    frame, depth = gdb.newest_frame(), 0
    while frame is not None and depth < MAX_FRAMES:
        depth += 1
        if frame.name() and frame.name().startswith(FIBER_ENTRIES):
            break
        frame = frame.older()
    return depth


class InfoGreenlets(gdb.Command):
    """The greenlets of the selected thread's hub: id, name, state, what each waits on.
The running one is marked with *."""

    def __init__(self):
        super().__init__("info greenlets", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        h = hub()
        if h is None:
            print("this thread has no green hub")
            return
        running = int(h["running_"])
        count = 0
        for g in greenlets(h):
            count += 1
            print(describe(g, g.address == running))
        print("%d greenlets, %d ready" % (count, int(h["ready_count_"])))


class GreenletPrefix(gdb.Command):
    """Commands about one greenlet: greenlet bt ID."""

    def __init__(self):
        super().__init__("greenlet", gdb.COMMAND_STACK, prefix=True)


class GreenletBacktrace(gdb.Command):
    """greenlet bt ID|hub [bt options]: backtrace of a suspended greenlet, or of the hub's
own fiber while a greenlet runs. Needs a live process."""

    def __init__(self):
        super().__init__("greenlet bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        args = arg.split()
        if not args:
            raise gdb.GdbError("usage: greenlet bt ID|hub [bt options]")
        h = hub()
        if h is None:
            raise gdb.GdbError("this thread has no green hub")
        ctx = self.context(h, args[0])
        if int(ctx["sp"]) == 0:
            raise gdb.GdbError("greenlet %s has no saved context (it is running, or has not started)" % args[0])

        gdb.execute("select-frame 0")
        frame = gdb.selected_frame()
        saved = {r: int(frame.read_register(r)) for r in RESTORED}
        try:
            if int(ctx["pc"]) != 0:
                for reg, field in SAVED:
                    gdb.execute("set $%s = %d" % (reg, int(ctx[field])), to_string=True)
            else:
                fctx = int(ctx["sp"])
                inferior = gdb.selected_inferior()
                for reg, offset in BOOST_SAVED:
                    word = int.from_bytes(inferior.read_memory(fctx + offset, 8).tobytes(), "little")
                    gdb.execute("set $%s = %d" % (reg, word), to_string=True)
                gdb.execute("set $rsp = %d" % (fctx + BOOST_RESUMED_SP), to_string=True)
            gdb.execute("bt %s %d" % (" ".join(args[1:]), fiber_depth()), from_tty)
        except gdb.error as e:
            raise gdb.GdbError("green: cannot switch registers (a core file?): %s" % e)
        finally:
            gdb.execute("select-frame 0")
            for reg in RESTORED:
                try:
                    gdb.execute("set $%s = %d" % (reg, saved[reg]), to_string=True)
                except gdb.error:
                    pass

    @staticmethod
    def context(h, which):
        if which == "hub":
            if int(h["running_"]) == 0:
                raise gdb.GdbError("the hub's own fiber is the one running: use bt")
            return h["hub_ctx_"]
        for g in greenlets(h):
            if str(int(g["id"])) == which:
                if g.address == int(h["running_"]):
                    raise gdb.GdbError("greenlet %s is the one running: use bt" % which)
                return g["ctx"]
        raise gdb.GdbError("no greenlet #%s on this thread's hub (see info greenlets)" % which)


InfoGreenlets()
GreenletPrefix()
GreenletBacktrace()
