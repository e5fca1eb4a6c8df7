#!/usr/bin/env python3
"""The streaming loop from the vendor's docs (openai SDK, compatible protocol), as a peer for
scripts/bench section (f). Usage: peer_openai.py BASE_URL. Needs `pip install openai`.

Kept as the docs write it: one print(..., flush=True) per chunk, usage from the last chunk.
"""
import os
import sys

from openai import OpenAI

client = OpenAI(api_key=os.environ.get("DASHSCOPE_API_KEY", "bench"), base_url=sys.argv[1])
completion = client.chat.completions.create(
    model="qwen-plus",
    messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Introduce yourself."},
    ],
    stream=True,
    stream_options={"include_usage": True},
)
content_parts = []
for chunk in completion:
    if chunk.choices:
        content = chunk.choices[0].delta.content or ""
        print(content, end="", flush=True)
        content_parts.append(content)
    elif chunk.usage:
        print(
            f"\nusage: {chunk.usage.prompt_tokens} in, {chunk.usage.completion_tokens} out",
            file=sys.stderr,
        )
