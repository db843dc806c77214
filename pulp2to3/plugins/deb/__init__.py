"""The Debian plugin: packages, releases and components; apt's structured publication."""
