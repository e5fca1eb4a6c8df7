#!/usr/bin/env python3
"""Seed fuzz/corpus/{sse,compatible,dashscope} from tests/fixtures (*.sse, sse_cases.json).

The corpus directories are git-ignored: run this once before the first `cargo fuzz run`
(it only adds files). Input layouts are described at the top of each fuzz target.
"""
import hashlib
import json
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
FIXTURES = FUZZ.parent / "tests" / "fixtures"
CORPUS = FUZZ / "corpus"


def save(target, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def sse_events(raw):
    """(event, status, data) of each block of a recorded stream (fixtures are simple)."""
    out = []
    event, status, data = None, None, []
    for line in raw.decode("utf-8").split("\n"):
        if line == "":
            if data:
                out.append((event, status, "\n".join(data)))
            event, status, data = None, None, []
        elif line.startswith(":HTTP_STATUS/"):
            status = int(line[len(":HTTP_STATUS/"):])
        elif line.startswith("event:"):
            event = line[6:].lstrip(" ")
        elif line.startswith("data:"):
            v = line[5:]
            data.append(v[1:] if v.startswith(" ") else v)
    return out


def hexbytes(h):
    return bytes.fromhex(h)


# --- sse: flags, cap, n, lens..., stream
def sse_seed(stream, chunks=None, capped=False):
    lens = [len(c) for c in (chunks or [])[:-1]]
    if len(lens) > 15 or any(n > 255 for n in lens):
        lens = []
    head = bytes([1 if capped else 0, 63, len(lens)]) + bytes(lens)
    save("sse", head + stream)


for case in json.loads((FIXTURES / "sse_cases.json").read_text()):
    if "bytes_hex" in case:
        stream = hexbytes(case["bytes_hex"])
    elif "input_hex" in case:
        stream = hexbytes(case["input_hex"])
    else:
        stream = case["input"].encode("utf-8")
    chunks = None
    if "chunks" in case:
        chunks = [c.encode("utf-8") for c in case["chunks"]]
    elif "chunks_hex" in case:
        chunks = [hexbytes(c) for c in case["chunks_hex"]]
    sse_seed(stream, chunks)
    sse_seed(stream, chunks, capped=True)

for f in sorted(FIXTURES.glob("*.sse")):
    raw = f.read_bytes()
    sse_seed(raw)
    # The same stream with CRLF line ends, cut into 7-byte reads.
    crlf = raw.replace(b"\n", b"\r\n")
    sse_seed(crlf, [crlf[i:i + 7] for i in range(0, 7 * 15, 7)] + [crlf[105:]])
    sse_seed(raw[:400], capped=True)

# --- compatible: flags, data strings separated by 0xFF
SEP = b"\xff"
for f in sorted(FIXTURES.glob("compatible*.sse")):
    datas = [d.encode("utf-8") for _, _, d in sse_events(f.read_bytes())]
    save("compatible", b"\x00" + SEP.join(datas))
    save("compatible", b"\x02" + SEP.join(datas))  # protocol detection
    for d in datas:
        save("compatible", b"\x00" + d)
save("compatible", b"\x00" + SEP.join([
    b'{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}',
    b'{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"","function":{"arguments":"{\\"loc"}}]}}]}',
    b'{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}',
]))
save("compatible", b"\x00" + b'{"error":{"message":"Allocated quota exceeded","type":"insufficient_quota","code":"Throttling.AllocationQuota"},"request_id":"r-1"}')
for flags in (1, 5):
    save("compatible", bytes([flags]) + bytes(range(1, 200)))
    save("compatible", bytes([flags]) + b"\x01\x05" + b"\x00\x02\x02\x03abc\x02de" * 6)

# --- dashscope: flags (bit 1 = incremental), events separated by 0xFF, each
# header (bits 0-1 type: result/error/untyped/typed message; bits 2-3 status: none/200/429/next 2 bytes)
def ds_header(event, status):
    kind = {"result": 0, "error": 1, None: 2}.get(event, 3)
    st = {None: 0, 200: 1, 429: 2}.get(status, 3)
    h = bytes([kind | (st << 2)])
    if st == 3:
        h += status.to_bytes(2, "little")
    return h


for f in sorted(FIXTURES.glob("dashscope*.sse")):
    evs = sse_events(f.read_bytes())
    flags = 0 if "cumulative" in f.name else 2
    body = SEP.join(ds_header(e, s) + d.encode("utf-8") for e, s, d in evs)
    save("dashscope", bytes([flags]) + body)
    save("dashscope", bytes([flags | 8]) + body)  # protocol detection
    if flags == 2:
        # The same answer as a cumulative stream.
        content, reasoning, out = "", "", []
        for e, s, d in evs:
            j = json.loads(d)
            m = j["output"]["choices"][0]["message"]
            content += m.get("content", "")
            m["content"] = content
            if "reasoning_content" in m:
                reasoning += m["reasoning_content"]
                m["reasoning_content"] = reasoning
            out.append(ds_header(e, s) + json.dumps(j, ensure_ascii=False).encode("utf-8"))
        save("dashscope", b"\x00" + SEP.join(out))
save("dashscope", b"\x02" + SEP.join([
    ds_header("result", 200) + b'{"output":{"choices":[{"message":{"content":"part","role":"assistant"},"finish_reason":"null"}]},"usage":{"input_tokens":10,"output_tokens":1}}',
    ds_header("error", 429) + b'{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded","request_id":"req-9"}',
]))
save("dashscope", b"\x02" + ds_header("error", 500) + b"upstream connect error")
save("dashscope", b"\x00" + SEP.join([
    ds_header("result", 200) + b'{"output":{"choices":[{"message":{"content":[{"text":"A dog"}]},"finish_reason":"null"}]}}',
    ds_header("result", 200) + b'{"output":{"choices":[{"message":{"content":[{"text":"A dog"},{"text":" and"}]},"finish_reason":"null"}]}}',
    ds_header("result", 200) + b'{"output":{"choices":[{"message":{"content":[]},"finish_reason":"stop"}]}}',
]))
save("dashscope", b"\x02" + SEP.join([
    ds_header("result", 200) + b'{"output":{"text":"Hel","finish_reason":"null"},"usage":{"input_tokens":1,"output_tokens":1}}',
    ds_header("result", 200) + b'{"output":{"text":"lo","finish_reason":"stop"},"usage":{"input_tokens":1,"output_tokens":2}}',
]))
save("dashscope", b"\x02" + SEP.join([
    ds_header("result", 200) + b'{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\\"x\\":"}}]},"finish_reason":"null"}]}}',
    ds_header("result", 200) + b'{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"","type":"function","function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}}',
]))
for flags in (1, 3, 5, 7):
    save("dashscope", bytes([flags]) + bytes(range(1, 250)))
    save("dashscope", bytes([flags]) + b"\x01\x01\x05" + b"\x01\x03ab\x04\xd0\xaf\xf0\x9f\x8d\x8e\x03" * 8)

# --- fastpath: flags (bit 0: dashscope), one data payload
for f in sorted(FIXTURES.glob("*.sse")):
    flag = b"\x01" if f.name.startswith("dashscope") else b"\x00"
    for _, _, d in sse_events(f.read_bytes()):
        if d != "[DONE]":
            save("fastpath", flag + d.encode("utf-8"))
save("fastpath", b"\x00" + b'{"choices":[{"delta":{"content":"Server-sent events"},"finish_reason":null,"index":0}],"object":"chat.completion.chunk","usage":null,"created":1726132850,"model":"qwen-plus","id":"chatcmpl-428b414f"}')
save("fastpath", b"\x00" + b'{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"loc"}}],"audio":{"data":"AAEC","transcript":"Hi"}}}]}')
save("fastpath", b"\x01" + b'{"output":{"choices":[{"message":{"content":[{"text":"a"},{"image":"x"}],"reasoning_content":"r","tool_calls":[{"function":{"name":"f","arguments":"{}"},"index":0}]},"index":1,"finish_reason":"stop"}],"text":"t"},"usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0},"output_tokens_details":{"reasoning_tokens":1}},"request_id":"r","code":"","message":""}')

for t in ("sse", "compatible", "dashscope", "fastpath"):
    print(t, len(list((CORPUS / t).iterdir())), "seeds")
