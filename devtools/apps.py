"""The devtools app: installed so Django finds its `demo_store` management command."""

from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    name = "devtools"
    label = "devtools"
    verbose_name = "Development tools"
