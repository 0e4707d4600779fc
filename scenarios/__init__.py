"""The built-in scenarios, shipped with Runway as package data.

Each ``NAME.toml`` here (with any data file it reads, such as a ``*.csv``) is installed with the
package, so a built-in scenario can be named without a path from any folder:
``runway run openai_2024``. :func:`simulate.builtin_scenarios` lists them.
"""
