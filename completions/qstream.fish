complete -c qstream -s s -l system -d 'System message' -r
complete -c qstream -l messages -d 'Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended' -r -F
complete -c qstream -l image -d 'Attach an image: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -l audio -d 'Attach audio: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -l video -d 'Attach a video: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -s m -l model -d 'Model name' -r
complete -c qstream -l thinking-budget -d 'Most reasoning tokens (thinking_budget, a positive integer); implies --thinking' -r
complete -c qstream -l temperature -d 'Sampling temperature' -r
complete -c qstream -l top-p -d 'Nucleus sampling threshold' -r
complete -c qstream -l top-k -d 'Sample from the K most likely tokens' -r
complete -c qstream -l max-tokens -d 'Most tokens to generate, reasoning included (compatible: max_completion_tokens; dashscope: max_tokens)' -r
complete -c qstream -l seed -d 'Random seed' -r
complete -c qstream -l stop -d 'Stop generating at this string (repeatable)' -r
complete -c qstream -l presence-penalty -d 'Presence penalty (-2.0 to 2.0)' -r
complete -c qstream -l search-strategy -d 'Web search strategy (search_options.search_strategy); implies --search' -r -f -a "turbo\t''
max\t''
agent\t''
agent_max\t''"
complete -c qstream -l schema -d 'Answer with JSON following the JSON Schema in FILE (response_format json_schema)' -r -F
complete -c qstream -l tools -d 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)' -r -F
complete -c qstream -l tool-choice -d 'Whether to call a tool: auto, none, or the name of the function to call' -r
complete -c qstream -s o -l param -d 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)' -r
complete -c qstream -l protocol -d 'Wire protocol [default: compatible; a replay detects it]' -r -f -a "compatible\t'OpenAI-compatible: {base}/chat/completions'
dashscope\t'DashScope native: {base}/services/aigc/text-generation/generation'"
complete -c qstream -l region -d 'Region whose endpoint to use when no base URL is given; API keys work in their own region only' -r -f -a "intl\t'Singapore: dashscope-intl.aliyuncs.com'
cn\t'China (Beijing): dashscope.aliyuncs.com'
us\t'US (Virginia): dashscope-us.aliyuncs.com'
hk\t'China (Hong Kong): cn-hongkong.dashscope.aliyuncs.com'
eu\t'Germany (Frankfurt): only through a workspace host (needs --workspace)'
jp\t'Japan (Tokyo): only through a workspace host (needs --workspace)'"
complete -c qstream -l native-endpoint -d 'dashscope: the generation endpoint, instead of the one the model name picks' -r -f -a "text\t'{base}/services/aigc/text-generation/generation'
multimodal\t'{base}/services/aigc/multimodal-generation/generation (content as [{"text": …}] lists)'"
complete -c qstream -l base-url -d 'Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1' -r
complete -c qstream -l replay -d 'Read a recorded response body from FILE (`-` = stdin) instead of the network' -r -F
complete -c qstream -l record -d 'Also write the raw response body to FILE as it arrives' -r -F
complete -c qstream -l audio-out -d 'Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)' -r -F
complete -c qstream -l voice -d 'The voice for --audio-out' -r
complete -c qstream -l reasoning -d 'Where the reasoning goes in text mode' -r -f -a "stderr\t'Reasoning on stderr (dimmed on a terminal)'
stdout\t'Reasoning on stdout before the answer, inside <think>…</think>'
hide\t'Keep thinking on but print none of it'"
complete -c qstream -l color -d 'When to use colour on stderr' -r -f -a "auto\t'Colour when the output is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c qstream -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c qstream -l timeout -d 'Seconds without a byte from the server before giving up' -r
complete -c qstream -l max-time -d 'Seconds the whole request may take (default: no limit)' -r
complete -c qstream -l retries -d 'Retries after a connect failure, HTTP 429 or 5xx, before any output' -r
complete -c qstream -s H -l header -d 'Extra request header (repeatable); replaces a default header of the same name' -r
complete -c qstream -l workspace -d 'Workspace: with a region, its own host {ID}.{region-id}.maas.aliyuncs.com (only that workspace\'s keys work there); with --base-url, the X-DashScope-WorkSpace header' -r
complete -c qstream -l thinking -d 'Ask for the model\'s reasoning (enable_thinking: true)'
complete -c qstream -l no-thinking -d 'Ask for no reasoning (enable_thinking: false)'
complete -c qstream -l search -d 'Let the model search the web (enable_search: true; billed per search)'
complete -c qstream -l force-search -d 'Always search, not only when the model thinks it helps (forced_search); implies --search'
complete -c qstream -l sources -d 'Ask for the web sources and list them after the answer; implies --search and needs the dashscope protocol (chosen when no protocol is given)'
complete -c qstream -l json-object -d 'Answer with a JSON object (response_format json_object; the prompt must say "JSON")'
complete -c qstream -l no-incremental -d 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed'
complete -c qstream -l json -d 'Write one JSON object per event to stdout'
complete -c qstream -l raw -d 'Write every SSE event as one JSON object per line, before protocol decoding'
complete -c qstream -s q -l quiet -d 'Nothing on stderr but errors'
complete -c qstream -l stats -d 'At the end, print time to first token, total time, deltas, tokens/s and request_id'
complete -c qstream -l dry-run -d 'Print the request as a curl command and exit without sending it'
complete -c qstream -l allow-insecure-http -d 'Allow plain http:// to hosts other than loopback'
complete -c qstream -s h -l help -d 'Print help (see more with \'--help\')'
complete -c qstream -s V -l version -d 'Print version'
