"""The supported plugins, by the plugin type a migration plan names."""

from __future__ import annotations

from pulp2to3.plugins import Plugin, iso_plugin
from pulp2to3.plugins.deb import plugin as deb_plugin
from pulp2to3.plugins.rpm import plugin as rpm_plugin

PLUGINS: dict[str, Plugin] = {
    plugin.type: plugin for plugin in (iso_plugin.PLUGIN, rpm_plugin.PLUGIN, deb_plugin.PLUGIN)
}
