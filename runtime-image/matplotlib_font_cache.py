
# --- runbox runtime image: matplotlib's font list, built at image time -----
# Matplotlib keeps its font list under its cache directory, which for a
# program under runbox is inside a fresh workspace ($HOME/.cache/matplotlib),
# so without this every request would rebuild it (hundreds of ms). The image
# builds it once into /usr/local/share/runbox/matplotlib; this hook, appended
# to Python's sitecustomize by runtime-image/Dockerfile, copies it into the
# program's cache directory the first time matplotlib is imported. It costs
# one string comparison per import until then, and nothing for programs that
# never import matplotlib. A program that sets MPLCONFIGDIR keeps its choice.
import sys as _runbox_sys


class _RunboxMatplotlibFontCache:
    SOURCE = "/usr/local/share/runbox/matplotlib"

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "matplotlib":
            try:
                _runbox_sys.meta_path.remove(cls)
            except ValueError:
                pass
            cls.seed()
        return None  # the normal finders import matplotlib itself

    @classmethod
    def seed(cls):
        import os
        import shutil

        if os.environ.get("MPLCONFIGDIR"):
            return
        try:
            cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
                os.path.expanduser("~"), ".cache")
            target = os.path.join(cache, "matplotlib")
            for name in os.listdir(cls.SOURCE):
                if not name.startswith("fontlist-"):
                    continue
                dest = os.path.join(target, name)
                if not os.path.exists(dest):
                    os.makedirs(target, exist_ok=True)
                    shutil.copyfile(os.path.join(cls.SOURCE, name), dest)
        except OSError:
            pass  # no writable home: matplotlib builds the list as usual


_runbox_sys.meta_path.insert(0, _RunboxMatplotlibFontCache)
