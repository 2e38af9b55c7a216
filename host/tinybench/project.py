"""The project's data as one object: manifests, rules and the model store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinybench.errors import TinybenchError
from tinybench.manifests.boards import BoardManifest, load_board_manifest, load_board_manifests
from tinybench.manifests.custom_model import (
    CustomModelOptions,
    is_custom,
    is_model_path,
    load_custom_model,
    local_model_file,
)
from tinybench.manifests.models import ModelManifest, load_model_manifest, load_model_manifests
from tinybench.manifests.runrules import DEFAULT_RULES, RuleSet, load_rule_set, parse_rule_set
from tinybench.modelstore import ModelStore
from tinybench.paths import Locations


@dataclass(frozen=True)
class Project:
    locations: Locations

    def models(self) -> dict[str, ModelManifest]:
        return load_model_manifests(self.locations.models_manifest_dir)

    def model(self, model_id: str) -> ModelManifest:
        return load_model_manifest(self.locations.models_manifest_dir, model_id)

    def resolve_model(
        self, reference: str, options: CustomModelOptions | None = None
    ) -> ModelManifest:
        """A catalogue model by id (`kws01`), or a user's model by path (`net/mynet.tflite`)."""
        options = options or CustomModelOptions()
        if is_model_path(reference):
            return load_custom_model(Path(reference), options, self.models().keys())
        if options.given:
            raise TinybenchError(
                f"--input-format, --metric and --classes describe a model file; catalogue "
                f"model {reference} is described by its manifest"
            )
        return self.model(reference)

    def model_path(self, model: ModelManifest) -> Path:
        """The model's verified file: the user's own, or the catalogue's from the store."""
        return local_model_file(model) if is_custom(model) else self.model_store().path(model)

    def model_bytes(self, model: ModelManifest) -> bytes:
        return self.model_path(model).read_bytes()

    def dataset_root(self, model: ModelManifest, given: Path | None) -> Path:
        """The dataset directory: the one given, else the shared reference set of the model."""
        if given is not None:
            return given
        if is_custom(model):
            raise TinybenchError(
                f"{model.source.file_name} is your own model: give its dataset with --dataset DIR "
                f"(a {model.dataset.label_file} of `file,{model.dataset.classes},label` lines and "
                f"one {model.dataset.sample_bytes}-byte file per sample)"
            )
        return self.locations.dataset_dir(model.dataset.dataset_id)

    def boards(self) -> dict[str, BoardManifest]:
        return load_board_manifests(self.locations.boards_manifest_dir)

    def board(self, board_id: str) -> BoardManifest:
        return load_board_manifest(self.locations.boards_manifest_dir, board_id)

    def rules(self, source: str | Path = DEFAULT_RULES) -> RuleSet:
        """A rule set by id from runrules/, or from a rules file (`--rules FILE`)."""
        if isinstance(source, Path):
            return parse_rule_set(source)
        return load_rule_set(self.locations.runrules_dir, source)

    def check_model_rules(self, model: ModelManifest, rules: RuleSet) -> None:
        """Catalogue models must agree with the rules' quality targets; a user's model has none
        there (it is not an MLPerf Tiny benchmark)."""
        if not is_custom(model):
            rules.check_model(model)

    def model_store(self, allow_download: bool = True) -> ModelStore:
        search = [self.locations.shared_dir / "models"]
        if self.locations.models_dir is not None:
            search.insert(0, self.locations.models_dir)
        return ModelStore(
            search_dirs=tuple(search),
            cache_dir=self.locations.cache_dir,
            allow_download=allow_download,
        )
