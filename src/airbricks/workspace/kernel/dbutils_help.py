"""The text ``dbutils.help()``, ``dbutils.<module>.help()`` and ``dbutils.<module>.help("method")`` print.

Shaped as Databricks prints it (an introduction, then one ``name(args): Type -> what it does`` line per
method, grouped; a method's help as a doc comment over its signature), so a notebook that calls ``help`` runs
and reads as it does there. Only what the local ``dbutils`` provides is listed: help never promises a method
that would then fail. Standard library only (the kernel imports it).
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``dbutils.help()``'s lines per module: (its class, what it is for), in Databricks' order.
MODULES = {
    "fs": ("DbfsUtils", "Manipulates the Databricks filesystem (DBFS) from the console"),
    "jobs": ("JobsUtils", "Utilities for leveraging jobs features"),
    "notebook": ("NotebookUtils", "Utilities for the control flow of a notebook (EXPERIMENTAL)"),
    "secrets": ("SecretUtils", "Provides utilities for leveraging secrets within notebooks"),
    "widgets": ("WidgetsUtils", "Methods to create and get bound value of input widgets inside notebooks"),
}


@dataclass(frozen=True)
class ModuleHelp:
    intro: str
    #: (section title or "", [(signature, description)])
    sections: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


HELP = {
    "fs": ModuleHelp(
        "dbutils.fs provides utilities for working with FileSystems. Most methods in this package can take either a"
        ' DBFS path (e.g., "/foo" or "dbfs:/foo"), or another FileSystem URI (here: /Volumes/<catalog>/<schema>/'
        '<volume>/...). For more info about a method, use dbutils.fs.help("methodName").',
        (
            (
                "fsutils",
                (
                    (
                        "cp(from: String, to: String, recurse: boolean = false): boolean",
                        "Copies a file or directory, possibly across FileSystems",
                    ),
                    (
                        "head(file: String, maxBytes: int = 65536): String",
                        "Returns up to the first 'maxBytes' bytes of the given file as a String encoded in UTF-8",
                    ),
                    ("ls(dir: String): Seq", "Lists the contents of a directory"),
                    (
                        "mkdirs(dir: String): boolean",
                        "Creates the given directory if it does not exist, also creating any necessary parent"
                        " directories",
                    ),
                    (
                        "mv(from: String, to: String, recurse: boolean = false): boolean",
                        "Moves a file or directory, possibly across FileSystems",
                    ),
                    (
                        "put(file: String, contents: String, overwrite: boolean = false): boolean",
                        "Writes the given String out to a file, encoded in UTF-8",
                    ),
                    ("rm(dir: String, recurse: boolean = false): boolean", "Removes a file or directory"),
                ),
            ),
            (
                "mount",
                (
                    ("mounts: Seq", "Displays information about what is mounted within DBFS"),
                    (
                        "refreshMounts: boolean",
                        "Forces all machines in this cluster to refresh their mount cache, ensuring they receive the"
                        " most recent information",
                    ),
                ),
            ),
        ),
    ),
    "jobs": ModuleHelp(
        "Provides utilities for leveraging jobs features.",
        (("", (("taskValues: TaskValuesUtils", "Provides utilities for leveraging job task values"),)),),
    ),
    "jobs.taskValues": ModuleHelp(
        "Provides utilities for leveraging job task values.",
        (
            (
                "",
                (
                    (
                        "get(taskKey: String, key: String, default: Object, debugValue: Object): Object",
                        "Returns the latest task value that belongs to the current job run",
                    ),
                    ("set(key: String, value: Object): boolean", "Sets a task value on the current task run"),
                ),
            ),
        ),
    ),
    "notebook": ModuleHelp(
        "The notebook module.",
        (
            (
                "",
                (
                    ("exit(value: String): void", "This method lets you exit a notebook with a value"),
                    (
                        "run(path: String, timeoutSeconds: int, arguments: Map): String",
                        "This method runs a notebook and returns its exit value",
                    ),
                ),
            ),
        ),
    ),
    "secrets": ModuleHelp(
        "Provides utilities for leveraging secrets within notebooks. Databricks documentation for more info.",
        (
            (
                "",
                (
                    (
                        "get(scope: String, key: String): String",
                        "Gets the string representation of a secret value with scope and key",
                    ),
                    (
                        "getBytes(scope: String, key: String): byte[]",
                        "Gets the bytes representation of a secret value with scope and key",
                    ),
                    ("list(scope: String): Seq", "Lists secret metadata for secrets within a scope"),
                    ("listScopes: Seq", "Lists secret scopes"),
                ),
            ),
        ),
    ),
    "widgets": ModuleHelp(
        "dbutils.widgets provides utilities for working with notebook widgets. You can create different types of"
        ' widgets and get their bound value. For more info about a method, use dbutils.widgets.help("methodName").',
        (
            (
                "",
                (
                    (
                        "combobox(name: String, defaultValue: String, choices: Seq, label: String): void",
                        "Creates a combobox input widget with a given name, default value and choices",
                    ),
                    (
                        "dropdown(name: String, defaultValue: String, choices: Seq, label: String): void",
                        "Creates a dropdown input widget a with given name, default value and choices",
                    ),
                    ("get(name: String): String", "Retrieves current value of an input widget"),
                    ("getAll: map", "Retrieves a map of all widget names and their values"),
                    ("getArgument(name: String, optional: String): String", "(DEPRECATED) Equivalent to get"),
                    (
                        "multiselect(name: String, defaultValue: String, choices: Seq, label: String): void",
                        "Creates a multiselect input widget with a given name, default value and choices",
                    ),
                    ("remove(name: String): void", "Removes an input widget from the notebook"),
                    ("removeAll: void", "Removes all widgets in the notebook"),
                    (
                        "text(name: String, defaultValue: String, label: String): void",
                        "Creates a text input widget with a given name and default value",
                    ),
                ),
            ),
        ),
    ),
}


def top_help(modules: list[str]) -> str:
    """``dbutils.help()``: one line per module this ``dbutils`` has."""
    lines = [f"{name}: {MODULES[name][0]} -> {MODULES[name][1]}" for name in MODULES if name in modules]
    intro = "This module provides various utilities for users to interact with the rest of Databricks."
    return "\n".join([intro, "", *lines])


def module_help(module: str, method: str | None = None) -> str:
    """``dbutils.<module>.help()`` (the module's methods) or ``help("method")`` (one method's doc comment).

    :raises ValueError: ``method`` is no method of the module (as Databricks refuses it).
    """
    found = HELP[module]
    if method is None or method == "":
        out = [found.intro]
        for title, rows in found.sections:
            out += ["", *([title, ""] if title else []), *(f"{sig} -> {text}" for sig, text in rows)]
        return "\n".join(out)
    for _, rows in found.sections:
        for sig, text in rows:
            if sig.split("(")[0].split(":")[0] == method:
                return f"/**\n * {text}.\n */\n{sig}"
    raise ValueError(f"No help available for method '{method}' of dbutils.{module}: no such method.")
