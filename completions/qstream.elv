
use builtin;
use str;

set edit:completion:arg-completer[qstream] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'qstream'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'qstream'= {
            cand -s 'System message'
            cand --system 'System message'
            cand --messages 'Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended'
            cand --image 'Attach an image: a URL, or a local file sent inline (repeatable)'
            cand --audio 'Attach audio: a URL, or a local file sent inline (repeatable)'
            cand --video 'Attach a video: a URL, or a local file sent inline (repeatable)'
            cand -m 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]'
            cand --model 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]'
            cand --thinking-budget 'Most reasoning tokens (thinking_budget, a positive integer); implies --thinking'
            cand --temperature 'Sampling temperature'
            cand --top-p 'Nucleus sampling threshold'
            cand --top-k 'Sample from the K most likely tokens'
            cand --max-tokens 'Most tokens to generate, reasoning included (compatible: max_completion_tokens; dashscope: max_tokens)'
            cand --seed 'Random seed'
            cand --stop 'Stop generating at this string (repeatable)'
            cand --presence-penalty 'Presence penalty (-2.0 to 2.0)'
            cand --search-strategy 'Web search strategy (search_options.search_strategy); implies --search'
            cand --schema 'Answer with JSON following the JSON Schema in FILE (response_format json_schema)'
            cand --tools 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)'
            cand --tool-choice 'Whether to call a tool: auto, none, or the name of the function to call'
            cand -o 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)'
            cand --param 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)'
            cand --protocol 'Wire protocol [env: QSTREAM_PROTOCOL] [default: compatible; a replay detects it]'
            cand --region 'Region whose endpoint to use when no base URL is given; API keys work in their own region only [env: QSTREAM_REGION] [default: intl]'
            cand --native-endpoint 'dashscope: the generation endpoint, instead of the one the model name picks'
            cand --base-url 'Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1'
            cand --replay 'Read a recorded response body from FILE (`-` = stdin) instead of the network'
            cand --record 'Also write the raw response body to FILE as it arrives'
            cand --audio-out 'Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)'
            cand --voice 'The voice for --audio-out'
            cand --reasoning 'Where the reasoning goes in text mode'
            cand --render 'Markdown on the terminal: headings, lists, tables, highlighted code, line by line as it streams'
            cand --color 'When to use colour on stderr'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds without a byte from the server before giving up'
            cand --max-time 'Seconds the whole request may take, retries and their waits included (default: no limit)'
            cand --retries 'Retries after a connect failure, HTTP 429 or 5xx, before any output'
            cand -H 'Extra request header (repeatable); replaces a default header of the same name'
            cand --header 'Extra request header (repeatable); replaces a default header of the same name'
            cand --workspace 'Workspace: with a region, its own host {ID}.{region-id}.maas.aliyuncs.com (only that workspace''s keys work there); with --base-url, the X-DashScope-WorkSpace header [env: DASHSCOPE_WORKSPACE]'
            cand --config 'The config file to read instead of ~/.config/qstream/config.toml'
            cand -P 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand --profile 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand -r 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand --role 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand -n 'Never read stdin, even when it is not a terminal (for loops that read a list from it)'
            cand --no-stdin 'Never read stdin, even when it is not a terminal (for loops that read a list from it)'
            cand --thinking 'Ask for the model''s reasoning (enable_thinking: true)'
            cand --no-thinking 'Ask for no reasoning (enable_thinking: false)'
            cand --search 'Let the model search the web (enable_search: true; billed per search)'
            cand --force-search 'Always search, not only when the model thinks it helps (forced_search); implies --search'
            cand --sources 'Ask for the web sources and list them after the answer; implies --search and needs the dashscope protocol (chosen when no protocol is given)'
            cand --json-object 'Answer with a JSON object (response_format json_object; the prompt must say "JSON")'
            cand --no-incremental 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed'
            cand --json 'Write one JSON object per event to stdout'
            cand --raw 'Write every SSE event as one JSON object per line, before protocol decoding'
            cand -q 'Nothing on stderr but errors'
            cand --quiet 'Nothing on stderr but errors'
            cand -x 'Write only the contents of the first fenced code block, each line as it completes'
            cand --extract 'Write only the contents of the first fenced code block, each line as it completes'
            cand --extract-last 'Write only the contents of the last fenced code block, when the answer ends'
            cand --stats 'At the end, print time to first token, total time, deltas, tokens/s and request_id'
            cand --dry-run 'Print the request as a curl command and exit without sending it'
            cand --allow-insecure-http 'Allow plain http:// to hosts other than loopback'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand config 'Show the settings in effect, the config file''s path, its roles or its profiles'
        }
        &'qstream;config'= {
            cand --config 'The config file to read instead of ~/.config/qstream/config.toml'
            cand -P 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand --profile 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand -r 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand --role 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'Print every setting in effect for the options given, each with where it came from'
            cand path 'Print the path of the config file that would be read'
            cand roles 'List the roles the config file defines'
            cand profiles 'List the profiles the config file defines'
        }
        &'qstream;config;show'= {
            cand --config 'The config file to read instead of ~/.config/qstream/config.toml'
            cand -P 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand --profile 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand -r 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand --role 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;config;path'= {
            cand --config 'The config file to read instead of ~/.config/qstream/config.toml'
            cand -P 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand --profile 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand -r 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand --role 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;config;roles'= {
            cand --config 'The config file to read instead of ~/.config/qstream/config.toml'
            cand -P 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand --profile 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand -r 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand --role 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;config;profiles'= {
            cand --config 'The config file to read instead of ~/.config/qstream/config.toml'
            cand -P 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand --profile 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand -r 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand --role 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
    ]
    $completions[$command]
}
