"""Grammar-constrained sampling that checks one token instead of the whole vocabulary.

llama-cpp-python puts the grammar first in its sampler chain, so every generated token
costs a grammar check of all ~150k vocabulary entries. Here a token is sampled without the
grammar and only that token is checked; when the grammar does not allow it, the token is
sampled again with the grammar over the whole vocabulary (llama.cpp's own common sampler
does the same). Greedy decoding picks exactly the token grammar-first would; sampled
decoding draws from the same distribution renormalised over the allowed tokens.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any


def install(llm: Any) -> None:
    """Make `llm` (a llama_cpp.Llama) use this sampler whenever a grammar is given."""
    original = llm._init_sampler

    def init_sampler(**options: Any):
        grammar = options.get("grammar")
        if grammar is None or options.get("logits_processor") or options.get("mirostat_mode"):
            return original(**options)
        return GrammarLastSampler(llm, grammar, options)

    llm._init_sampler = init_sampler


class GrammarLastSampler:
    def __init__(self, llm: Any, grammar: Any, options: dict[str, Any]) -> None:
        import llama_cpp

        self._c = llama_cpp
        self._llm = llm
        self._options = options
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._grammar:
            raise ValueError("the grammar could not be loaded")
        self._free = self._chain(with_grammar=False)
        self.fallbacks = 0

    def _chain(self, *, with_grammar: bool):
        from llama_cpp._internals import LlamaSampler

        chain = LlamaSampler()
        if with_grammar:
            # A copy at the current parse position; the original keeps the parse.
            self._c.llama_sampler_chain_add(
                chain.sampler, self._c.llama_sampler_clone(self._grammar)
            )
        temp = self._options.get("temp", 0.8)
        if temp <= 0.0:
            chain.add_greedy()
        else:
            chain.add_top_k(self._options.get("top_k", 40))
            chain.add_typical(self._options.get("typical_p", 1.0), 1)
            chain.add_top_p(self._options.get("top_p", 0.95), 1)
            chain.add_min_p(self._options.get("min_p", 0.05), 1)
            chain.add_temp(temp)
            chain.add_dist(self._llm._seed)
        return chain

    def _allowed(self, token: int) -> bool:
        c = self._c
        data = (c.llama_token_data * 1)(c.llama_token_data(token, 0.0, 0.0))
        candidates = c.llama_token_data_array(
            data=ctypes.cast(data, c.llama_token_data_p), size=1, selected=-1, sorted=False
        )
        c.llama_sampler_apply(self._grammar, ctypes.byref(candidates))
        return not math.isinf(data[0].logit)

    def sample(self, ctx: Any, idx: int) -> int:
        token = self._c.llama_sampler_sample(self._free.sampler, ctx.ctx, idx)
        if not self._allowed(token):
            self.fallbacks += 1
            constrained = self._chain(with_grammar=True)
            try:
                token = self._c.llama_sampler_sample(constrained.sampler, ctx.ctx, idx)
            finally:
                constrained.close()
        self._c.llama_sampler_accept(self._grammar, token)
        return token

    def reset(self) -> None:
        self._c.llama_sampler_reset(self._grammar)
        self._c.llama_sampler_reset(self._free.sampler)

    def close(self) -> None:
        if self._grammar:
            self._c.llama_sampler_free(self._grammar)
            self._grammar = None
        self._free.close()

    def __del__(self) -> None:
        self.close()
