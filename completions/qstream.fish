complete -c qstream -s s -l system -d 'System message' -r
complete -c qstream -l messages -d 'Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended' -r -F
complete -c qstream -l image -d 'Attach an image: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -l audio -d 'Attach audio: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -l video -d 'Attach a video: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -s m -l model -d 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]' -r
complete -c qstream -l temperature -d 'Sampling temperature' -r
complete -c qstream -l top-p -d 'Nucleus sampling threshold' -r
complete -c qstream -l top-k -d 'Sample from the K most likely tokens' -r
complete -c qstream -l max-tokens -d 'Most tokens to generate' -r
complete -c qstream -l seed -d 'Random seed' -r
complete -c qstream -l stop -d 'Stop generating at this string (repeatable)' -r
complete -c qstream -l presence-penalty -d 'Presence penalty (-2.0 to 2.0)' -r
complete -c qstream -l tools -d 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)' -r -F
complete -c qstream -l tool-choice -d 'Whether to call a tool: auto, none, or the name of the function to call' -r
complete -c qstream -s o -l param -d 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)' -r
complete -c qstream -l protocol -d 'Wire protocol [env: QSTREAM_PROTOCOL] [default: compatible; a replay detects it]' -r -f -a "compatible\t'OpenAI-compatible: {base}/chat/completions'
dashscope\t'DashScope native: {base}/services/aigc/text-generation/generation'"
complete -c qstream -l region -d 'Region whose endpoint to use when no base URL is given [env: QSTREAM_REGION] [default: intl]' -r -f -a "intl\t'International (Singapore): dashscope-intl.aliyuncs.com'
cn\t'Mainland China (Beijing): dashscope.aliyuncs.com'"
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
complete -c qstream -l max-time -d 'Seconds the whole request may take, retries and their waits included (default: no limit)' -r
complete -c qstream -l retries -d 'Retries after a connect failure, HTTP 429 or 5xx, before any output' -r
complete -c qstream -s H -l header -d 'Extra request header (repeatable); replaces a default header of the same name' -r
complete -c qstream -l workspace -d 'Workspace to bill and authorise against (X-DashScope-WorkSpace) [env: DASHSCOPE_WORKSPACE]' -r
complete -c qstream -s n -l no-stdin -d 'Never read stdin, even when it is not a terminal (for loops that read a list from it)'
complete -c qstream -l thinking -d 'Ask for the model\'s reasoning (enable_thinking: true)'
complete -c qstream -l no-thinking -d 'Ask for no reasoning (enable_thinking: false)'
complete -c qstream -l enable-search -d 'Let the model search the web (enable_search: true)'
complete -c qstream -l no-incremental -d 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed'
complete -c qstream -l json -d 'Write one JSON object per event to stdout'
complete -c qstream -l raw -d 'Write every SSE event as one JSON object per line, before protocol decoding'
complete -c qstream -s q -l quiet -d 'Nothing on stderr but errors'
complete -c qstream -l stats -d 'At the end, print time to first token, total time, deltas, tokens/s and request_id'
complete -c qstream -l dry-run -d 'Print the request as a curl command and exit without sending it'
complete -c qstream -l allow-insecure-http -d 'Allow plain http:// to hosts other than loopback'
complete -c qstream -s h -l help -d 'Print help (see more with \'--help\')'
complete -c qstream -s V -l version -d 'Print version'
