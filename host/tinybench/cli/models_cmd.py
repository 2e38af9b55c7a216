"""`tinybench models`: the models tinybench knows and where their files are."""

from __future__ import annotations

import click

from tinybench.errors import ModelStoreError
from tinybench.project import Project


@click.command("models")
@click.pass_obj
def models_command(project: Project) -> None:
    """List the models: tensors, input format, dataset, quality target and model file status."""
    store = project.model_store(allow_download=False)
    rules = project.rules()
    for model in project.models().values():
        rules.check_model(model)
        try:
            status = f"found at {store.path(model)}"
        except ModelStoreError as exc:
            status = "not available: " + str(exc).split(";")[0]
        inp, out = model.input, model.output
        click.echo(f"{model.model_id}  {model.title}")
        click.echo(
            f"  input   {inp.dtype}{list(inp.shape)} scale {inp.scale:.6g} zp {inp.zero_point}; "
            f"runners send {model.input_format.value}, {model.wire_bytes} B per inference"
        )
        click.echo(
            f"  output  {out.dtype}{list(out.shape)} scale {out.scale:.6g} zp {out.zero_point}"
        )
        click.echo(
            f"  quality {model.metric.value} >= {model.quality_target:g} "
            f"on dataset {model.dataset.dataset_id}"
        )
        click.echo(
            f"  file    {model.source.file_name} sha256 {model.source.sha256[:16]}... {status}"
        )
