"""Loading the code that stored records name, only from the places this process trusts.

Store rows name code: an execution's source reference (a module, or the path of
a script run as ``__main__``), an artifact's type path, a wait's type. Every
import of such code goes through here: :func:`import_trusted` for modules,
:func:`load_script` for scripts, :func:`main_module` for ``__main__``, each
checked against :func:`trusted_places` first (see :mod:`kitaru._sources._trust`
for the rules), raising :class:`CodeNotLoadable` with what to do when it is
refused or cannot be loaded.

Example:
    >>> from kitaru._sources import import_trusted
    >>> import_trusted("json", what="a test", named_by="a doctest").__name__
    'json'
"""

from kitaru._sources._modules import (
    ScriptSource,
    current_script,
    import_trusted,
    is_main_module,
    is_script_module,
    load_script,
    lookup,
    main_module,
    script_module_name,
    scripts_from,
    source_script,
)
from kitaru._sources._trust import (
    TRUSTED_PATHS_ENV,
    CodeNotLoadable,
    find_pyproject,
    parse_trusted_paths,
    project_root,
    require_trusted_path,
    tool_table,
    trusted_by,
    trusted_places,
)

__all__ = [
    "TRUSTED_PATHS_ENV",
    "CodeNotLoadable",
    "ScriptSource",
    "current_script",
    "find_pyproject",
    "import_trusted",
    "is_main_module",
    "is_script_module",
    "load_script",
    "lookup",
    "main_module",
    "parse_trusted_paths",
    "project_root",
    "require_trusted_path",
    "script_module_name",
    "scripts_from",
    "source_script",
    "tool_table",
    "trusted_by",
    "trusted_places",
]
