"""The bash grammar, loaded from tree-sitter-bash's binding without its package."""

from __future__ import annotations

import tree_sitter
import tree_sitter_bash

from corral.approvals.shell._parse import _bash_binding


def test_the_binding_loaded_alone_is_the_grammar_the_package_gives() -> None:
    binding = _bash_binding()
    assert binding is not None
    alone = tree_sitter.Language(binding.language())
    packaged = tree_sitter.Language(tree_sitter_bash.language())
    assert alone.name == packaged.name == "bash"
    assert alone.abi_version == packaged.abi_version
    assert alone.node_kind_count == packaged.node_kind_count
    assert alone.field_count == packaged.field_count
