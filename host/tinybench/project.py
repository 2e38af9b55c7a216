"""The project's data as one object: manifests, rules and the model store."""

from __future__ import annotations

from dataclasses import dataclass

from tinybench.manifests.boards import BoardManifest, load_board_manifest, load_board_manifests
from tinybench.manifests.models import ModelManifest, load_model_manifest, load_model_manifests
from tinybench.manifests.runrules import DEFAULT_RULES, RuleSet, load_rule_set
from tinybench.modelstore import ModelStore
from tinybench.paths import Locations


@dataclass(frozen=True)
class Project:
    locations: Locations

    def models(self) -> dict[str, ModelManifest]:
        return load_model_manifests(self.locations.models_manifest_dir)

    def model(self, model_id: str) -> ModelManifest:
        return load_model_manifest(self.locations.models_manifest_dir, model_id)

    def boards(self) -> dict[str, BoardManifest]:
        return load_board_manifests(self.locations.boards_manifest_dir)

    def board(self, board_id: str) -> BoardManifest:
        return load_board_manifest(self.locations.boards_manifest_dir, board_id)

    def rules(self, rules_id: str = DEFAULT_RULES) -> RuleSet:
        return load_rule_set(self.locations.runrules_dir, rules_id)

    def model_store(self, allow_download: bool = True) -> ModelStore:
        search = [self.locations.shared_dir / "models"]
        if self.locations.models_dir is not None:
            search.insert(0, self.locations.models_dir)
        return ModelStore(
            search_dirs=tuple(search),
            cache_dir=self.locations.cache_dir,
            allow_download=allow_download,
        )
