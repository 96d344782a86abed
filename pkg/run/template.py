"""The Python half of a warm template (see pkg/run/warm.h).

runbox starts the template as `python3 <dir>/main.py` with this file on
PYTHONPATH as `sitecustomize`, so that it runs where the interpreter runs
the system's sitecustomize, at the end of site initialisation.  In the
template it imports the configured modules and waits in the C loop
(run/template.c, `runbox_template_serve`), which returns only in a run's
program process: a copy of the template, already in the run's sandbox.
There this module makes the interpreter the one a cold `python3 main.py`
would be, and returns: the interpreter then runs the program as __main__,
with its own handling of exit codes, tracebacks, atexit and threads.

Nothing here sees a request until the sandbox is entered; the template
never runs a request's code.
"""
import sys

# What a cold interpreter has imported when it reaches sitecustomize.
_BASELINE = set(sys.modules)
_BASELINE.discard(__name__)


def _load_system_sitecustomize(own_dir):
    """Run the system's sitecustomize, which this module shadows, as a cold
    interpreter would; returns its module or None."""
    import importlib.machinery
    import importlib.util
    path = [p for p in sys.path if p != own_dir]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None:
        return None
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception:  # the interpreter ignores its failures too
        return None
    return mod


_OWN_DIR = __file__.rsplit("/", 1)[0]
_SYSTEM_SITECUSTOMIZE = _load_system_sitecustomize(_OWN_DIR)
_BASELINE |= set(sys.modules) - {__name__}

# ---- the template: imports and warm-up -----------------------------------


def _exercise_matplotlib_pyplot(mod):
    import io
    fig, ax = mod.subplots()
    ax.plot(range(100), [i * i for i in range(100)], label="x")
    ax.set_title("warm-up")
    ax.legend()
    fig.savefig(io.BytesIO(), format="png")
    mod.close(fig)
    # Its fonts stay open in a cache that a fork clears: none may be open in the template.
    import matplotlib.font_manager
    matplotlib.font_manager._get_font.cache_clear()


def _exercise_pandas(mod):
    import io
    df = mod.DataFrame({"a": range(100), "b": [float(i) for i in range(100)]})
    df.a.sum()
    df.describe()
    repr(df)
    df.to_csv(io.StringIO())
    mod.read_csv(io.StringIO("a,b\n1,2\n"))


def _exercise_numpy(mod):
    mod.arange(100).reshape(10, 10).sum(axis=0)
    mod.random.default_rng(0).random(10)


# What a first use of these modules pays for once (caches, lazy imports).
_EXERCISES = {
    "matplotlib.pyplot": _exercise_matplotlib_pyplot,
    "pandas": _exercise_pandas,
    "numpy": _exercise_numpy,
}


class _Recorder:
    """While the template imports: which module's import imports which (in
    the order of its import statements, while that module is being
    initialised, not later from its functions), and the warning filters
    each module's import added.  A program that imports a module gets back
    everything a cold import of it would load, in the order a cold import
    leaves them in sys.modules (each module last once its own import
    ends)."""

    def __init__(self):
        import builtins
        import importlib._bootstrap
        import warnings
        # Imported here: an import in __call__ would call __call__.
        self.warnings = warnings
        self.resolve = importlib._bootstrap._resolve_name
        self.builtins = builtins
        self.real = builtins.__import__
        self.edges = {}    # importer -> [imported, in statement order]
        self.filters = {}  # module -> [warning filters its import added]

    def edge(self, importer, name):
        if importer and name and importer != name and name in sys.modules:
            e = self.edges.setdefault(importer, [])
            if name not in e:
                e.append(name)

    @staticmethod
    def initialising(name):
        spec = getattr(sys.modules.get(name), "__spec__", None)
        return bool(getattr(spec, "_initializing", False))

    def record(self, importer, name, fromlist, before_mods, before_filters):
        new = [m for m in sys.modules if m not in before_mods]
        for n in new:
            self.filters.setdefault(n, [f for f in self.warnings.filters if f not in before_filters])
        if importer is None or not self.initialising(importer):
            return
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c imports a, a.b, a.b.c
            self.edge(importer, ".".join(parts[:i]))
        for attr in fromlist or ():
            self.edge(importer, name + "." + str(attr))
        for n in new:  # what C code or import_module loaded meanwhile
            self.edge(importer, n)

    def __call__(self, name, globals=None, locals=None, fromlist=(), level=0):
        g = globals or {}
        importer = g.get("__name__")
        try:
            full = self.resolve(name, g.get("__package__") or "", level) if level else name
        except (ImportError, ValueError, TypeError):
            full = name
        before_mods, before_filters = set(sys.modules), list(self.warnings.filters)
        try:
            return self.real(name, globals, locals, fromlist, level)
        finally:
            self.record(importer, full, fromlist, before_mods, before_filters)

    def closure(self, name, wanted):
        """What importing @name loads, of @wanted, in the order a cold import
        leaves it in sys.modules: each module after everything it imports."""
        out, seen, stack = [], {name}, [(name, iter(self.edges.get(name, ())))]
        while stack:
            mod, it = stack[-1]
            for n in it:
                if n not in seen:
                    seen.add(n)
                    stack.append((n, iter(self.edges.get(n, ()))))
                    break
            else:
                stack.pop()
                if mod in wanted:
                    out.append(mod)
        return out

    def __enter__(self):
        self.builtins.__import__ = self
        return self

    def __exit__(self, *exc):
        self.builtins.__import__ = self.real


def _import_all(names, exercise):
    """Import each configured module (a failure is reported, never fatal),
    then exercise the ones that have a warm-up; returns (imported, failed,
    recorder)."""
    import importlib
    import warnings
    imported, failed = [], []
    with _Recorder() as rec:
        for name in names:
            before_mods, before_filters = set(sys.modules), list(warnings.filters)
            try:
                mod = importlib.import_module(name)
                rec.record(None, name, (), before_mods, before_filters)
                if exercise and name in _EXERCISES:
                    _EXERCISES[name](mod)
            except BaseException as e:  # SystemExit from a module is a failure too
                failed.append("%s: %s: %s" % (name, type(e).__name__, e))
                continue
            imported.append(name)
    return imported, failed, rec


def _open_files(expected):
    """What the template holds open beyond @expected: a copy would close
    them under objects that still use them."""
    import os
    held = []
    for fd in os.listdir("/proc/self/fd"):
        if int(fd) in expected:
            continue
        try:
            held.append(os.readlink("/proc/self/fd/" + fd))
        except OSError:
            pass  # the listing's own fd
    return held


def _rss_vsize_kb():
    rss = vsize = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmSize:"):
                vsize = int(line.split()[1])
    return rss, vsize


# ---- the program: the interpreter a cold run would have ------------------


class _Restorer:
    """A meta path finder for the modules the template imported and the
    program has not: they are kept out of sys.modules, as in a cold
    interpreter, and an import of one gives the program the very module
    object the template made (the same object on every later import).
    It imports nothing itself: that would put a module in sys.modules."""

    def __init__(self, hidden, recorder, user_paths):
        import importlib.machinery
        import warnings
        self.hidden = hidden
        self.recorder = recorder
        self.filters = recorder.filters
        self.user_paths = user_paths
        self.PathFinder = importlib.machinery.PathFinder
        self.ModuleSpec = importlib.machinery.ModuleSpec
        self.warnings = warnings

    def _shadowed(self, name):
        """The program's own files (and its dependencies) come first on
        sys.path: a module of theirs with this name is theirs to import."""
        if "." in name:
            return False
        paths = [p for p in sys.path if p in self.user_paths or p == sys.path[0]]
        return self.PathFinder.find_spec(name, paths) is not None

    def find_spec(self, name, path=None, target=None):
        mod = self.hidden.get(name)
        if mod is None or self._shadowed(name):
            return None
        spec = self.ModuleSpec(name, self, origin=getattr(mod, "__file__", None))
        spec.submodule_search_locations = getattr(mod, "__path__", None)
        return spec

    def create_module(self, spec):
        return self.hidden[spec.name]

    def exec_module(self, module):
        warnings = self.warnings
        name = module.__name__
        # The import system set __spec__ to the one above: put the module's own back.
        original = self.hidden.pop(name)
        spec = original.__dict__.get("__spec__")
        if spec is not None and module.__spec__ is not spec:
            module.__spec__ = spec
        # What its import loaded with it comes back too, in the order a cold
        # import leaves them (the import system puts the module itself last).
        back = self.recorder.closure(name, self.hidden)
        for n in back:
            sys.modules[n] = self.hidden.pop(n)
        for n in back + [name]:  # each import's filters went in front, in load order
            for f in reversed(self.filters.get(n, ())):
                if f not in warnings.filters:
                    warnings.filters.insert(0, f)
        warnings._filters_mutated()


def _environ(lib):
    env = {}
    for i in range(lib.runbox_template_envc()):
        name, _, value = lib.runbox_template_env(i).partition(b"=")
        env[name] = value
    return env


def _reset_module_state(env, cwd):
    """State that modules computed at import from the environment, the
    working directory or the process, renewed as a cold import would."""
    m = _T.hidden
    if "numpy.random" in m:
        m["numpy.random"].seed()  # the legacy global state: fresh entropy
    mp = m.get("multiprocessing.process")
    if mp is not None:
        mp.ORIGINAL_DIR = _T.os.path.abspath(cwd)
        mp._current_process._config["authkey"] = mp.AuthenticationString(_T.os.urandom(32))
    if "platform" in m:
        m["platform"]._uname_cache = None  # it holds the host's name
    if "tempfile" in m:
        m["tempfile"].tempdir = None
    mpl = m.get("matplotlib")
    if mpl is not None:  # its configuration and cache directories follow HOME
        for f in (mpl.get_configdir, mpl.get_cachedir):
            cells = dict(zip(f.__code__.co_freevars, f.__closure__ or ()))
            if "called" in cells:
                cells["called"].cell_contents = False
    if b"TZ" in env:
        _T.time.tzset()


def _plain_stream(f):
    """Whether @f is one of io's own streams, over a file or memory: a
    second flush() of one does nothing and calls no code of the program's."""
    text, binary, raw = _T.stream_types
    if type(f) in text:
        if type(f) is text[1]:  # StringIO
            return True
        f = f.buffer
    if type(f) in binary:
        f = f.raw
    return type(f) in raw


def _streams_flushed():
    """The interpreter's first step after the atexit functions, done here
    first: flush sys.stdout and sys.stderr if open.  Its status turns 120
    if either flush fails; True when both are io's own streams and neither
    failed, so that the interpreter's own flush cannot fail either."""
    for name in ("stdout", "stderr"):
        try:
            f = getattr(sys, name, None)
            if f is None:
                continue
            if not _plain_stream(f):
                return False
            if not f.closed:
                f.flush()
        except BaseException:
            return False
    return True


def _at_exit():
    """Registered first, so it runs last of the program's exit functions.
    It tells the C half whether the status is certain (see end_now in
    run/template.c): __main__ came back, which the interpreter marks by
    deleting its __file__ and __cached__ (it does not when SystemExit or
    Py_Exit() end the program), and the streams flushed.  Then the modules
    the template loaded leave sys.modules, still referenced, so that the
    interpreter's teardown clears the program's own modules (and runs their
    objects' finalizers, as cold) but does not write through the
    template's: every page it wrote would be copied first."""
    main = sys.modules.get("__main__")
    d = getattr(main, "__dict__", None)
    came_back = (id(main) == _T.main_id and type(d) is dict
                 and "__file__" not in d and "__cached__" not in d)
    _T.lib.runbox_template_end_ready(1 if came_back and _streams_flushed() else 0)
    keep = [sys.modules.pop(n) for n in list(sys.modules) if n in _T.names]
    keep.append(_T.hidden)
    _T.ctypes.pythonapi.Py_IncRef(_T.ctypes.py_object(keep))  # never released


def _fresh_main():
    """__main__ made anew in the program's process, with what the
    template's holds.  The template's own dict was frozen with everything
    else (gc.freeze), and the collector never examines a frozen object: the
    cycle every class the program defines makes through its globals (its
    methods' __globals__ is that dict) would never be collected at exit, and
    the objects it holds never finalized, where a cold start's teardown
    collects them and runs their __del__."""
    old = sys.modules["__main__"]
    main = type(sys)("__main__")
    main.__dict__.update(old.__dict__)
    sys.modules["__main__"] = main


def _become(lib):
    """In the program's process: the interpreter state a cold start has.
    Only modules the template holds already are used here (an import would
    put one more in sys.modules)."""
    os, signal, site, warnings = _T.os, _T.signal, _T.site, _T.warnings
    _T.ctypes.pythonapi.PyOS_AfterFork_Child()
    # Python's own signal set-up (the run's first steps reset every disposition).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    argv = [lib.runbox_template_argv(i).decode("utf-8", "surrogateescape")
            for i in range(lib.runbox_template_argc())]
    env = _environ(lib)
    os.environ._data.clear()
    os.environ._data.update(env)
    run_filename = os.path.join(os.getcwd(), argv[1])  # what the interpreter makes of it
    if lib.runbox_template_set_main(os.fsencode(run_filename), os.fsencode(argv[1])) != 0:
        os._exit(126)
    sys.argv[:] = argv[1:]
    sys.orig_argv[:] = argv
    user_paths = [p for p in env.get(b"PYTHONPATH", b"").decode("utf-8", "surrogateescape").split(":")
                  if p]
    sys.path[:] = user_paths + [p for p in sys.path if p != _OWN_DIR]
    sys.path_importer_cache.clear()
    site.USER_BASE = site.USER_SITE = None
    site.getuserbase()
    site.getusersitepackages()
    _reset_module_state(env, os.getcwd())
    _T.restorer.user_paths = set(user_paths)
    sys.meta_path.insert(0, _T.restorer)
    if _SYSTEM_SITECUSTOMIZE is not None:
        sys.modules["sitecustomize"] = _SYSTEM_SITECUSTOMIZE
    _fresh_main()
    _T.main_id = id(sys.modules.get("__main__"))
    _T.atexit.register(_at_exit)
    lib.runbox_template_arm_exit()


class _T:
    """What the template keeps for its copies: the modules it imported
    (out of sys.modules) and references to those it uses itself."""
    hidden = {}
    names = frozenset()
    restorer = None


def _main():
    import atexit
    import ctypes
    import gc
    import io
    import json
    import os
    import signal
    import site
    import threading
    import time
    import warnings

    cfg = json.loads(os.environ["RUNBOX_TEMPLATE"])
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: nothing reads its memory
    lib = ctypes.PyDLL(cfg["lib"])  # keeps the GIL: the loop's copies run Python at once
    for f, t in (("runbox_template_argv", ctypes.c_char_p), ("runbox_template_env", ctypes.c_char_p),
                 ("runbox_template_argc", ctypes.c_uint), ("runbox_template_envc", ctypes.c_uint),
                 ("runbox_template_python", ctypes.c_ulong)):
        getattr(lib, f).restype = t
    events = cfg["events"]
    built = lib.runbox_template_python()
    if (built >> 16) != (sys.hexversion >> 16):
        os.write(events, (json.dumps({"error": "runbox's template object was built for Python "
                                      "%d.%d, RUNBOX_PYTHON is %d.%d" % (built >> 24, (built >> 16) & 255,
                                                                         *sys.version_info[:2])}) + "\n").encode())
        os._exit(3)
    base_filters = list(warnings.filters)
    imported, failed, recorder = _import_all(cfg["imports"], cfg["exercise"])
    if threading.active_count() != 1:
        os.write(events, (json.dumps({"error": "an imported module started a thread: a "
                                      "template must stay single-threaded"}) + "\n").encode())
        os._exit(3)
    os.environ.pop("RUNBOX_TEMPLATE", None)
    gc.collect()
    held = _open_files({0, 1, 2, cfg["ctl"], events})
    if held:
        os.write(events, (json.dumps({"error": "an imported module holds files open, which no "
                                      "run may share: " + ", ".join(held)}) + "\n").encode())
        os._exit(3)
    # From here the template is what a cold interpreter is at this point,
    # with everything else kept aside for its copies to give back on import.
    _T.os, _T.signal, _T.site, _T.warnings = os, signal, site, warnings
    _T.ctypes, _T.atexit, _T.time, _T.lib = ctypes, atexit, time, lib
    _T.stream_types = ((io.TextIOWrapper, io.StringIO), (io.BufferedWriter, io.BufferedRandom),
                       (io.FileIO, io.BytesIO))
    warnings.filters[:] = base_filters
    warnings._filters_mutated()
    _T.hidden = {n: m for n, m in sys.modules.items() if n not in _BASELINE}
    _T.names = frozenset(_T.hidden)
    toplevel = sorted({n.split(".")[0] for n in _T.hidden})
    for n in _T.hidden:
        del sys.modules[n]
    _T.restorer = _Restorer(_T.hidden, recorder, set())
    lib.runbox_template_prepare_end.argtypes = [ctypes.py_object]
    lib.runbox_template_prepare_end(list(sys.modules.values()) + list(_T.hidden.values()))
    gc.collect()
    gc.freeze()  # a copy's collector then leaves the template's objects (and pages) alone
    rss, vsize = _rss_vsize_kb()
    sys.stdout.flush()
    sys.stderr.flush()
    chosen = sorted({n.split(".")[0] for n in imported})
    os.write(events, (json.dumps({"ready": True, "imported": imported, "failed": failed,
                                  "toplevel": toplevel, "chosen": chosen,
                                  "rss_kb": rss, "vsize_kb": vsize}) + "\n").encode())
    r = lib.runbox_template_serve(cfg["ctl"], events)
    if r != 0:
        os._exit(0 if r == 1 else 1)
    _become(lib)


_main()
