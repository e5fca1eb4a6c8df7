
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
            cand --cid 'Continue the conversation with this id (a unique prefix is enough)'
            cand -m 'Model name'
            cand --model 'Model name'
            cand --temperature 'Sampling temperature'
            cand --top-p 'Nucleus sampling threshold'
            cand --top-k 'Sample from the K most likely tokens'
            cand --max-tokens 'Most tokens to generate'
            cand --seed 'Random seed'
            cand --stop 'Stop generating at this string (repeatable)'
            cand --presence-penalty 'Presence penalty (-2.0 to 2.0)'
            cand --tools 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)'
            cand --tool-choice 'Whether to call a tool: auto, none, or the name of the function to call'
            cand -o 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)'
            cand --param 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)'
            cand --protocol 'Wire protocol [default: compatible; a replay detects it]'
            cand --region 'Region whose endpoint to use when no base URL is given'
            cand --base-url 'Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1'
            cand --replay 'Read a recorded response body from FILE (`-` = stdin) instead of the network'
            cand --record 'Also write the raw response body to FILE as it arrives'
            cand --audio-out 'Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)'
            cand --voice 'The voice for --audio-out'
            cand --reasoning 'Where the reasoning goes in text mode'
            cand --color 'When to use colour on stderr'
            cand --connect-timeout 'Seconds to wait for a connection'
            cand --timeout 'Seconds without a byte from the server before giving up'
            cand --max-time 'Seconds the whole request may take (default: no limit)'
            cand --retries 'Retries after a connect failure, HTTP 429 or 5xx, before any output'
            cand -H 'Extra request header (repeatable); replaces a default header of the same name'
            cand --header 'Extra request header (repeatable); replaces a default header of the same name'
            cand --workspace 'Workspace to bill and authorise against (X-DashScope-WorkSpace)'
            cand --config 'The config file to read instead of ~/.config/qstream/config.toml'
            cand -P 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand --profile 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)'
            cand -r 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand --role 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)'
            cand -c 'Continue the latest conversation in the log: its earlier turns are sent first'
            cand --continue 'Continue the latest conversation in the log: its earlier turns are sent first'
            cand --thinking 'Ask for the model''s reasoning (enable_thinking: true)'
            cand --no-thinking 'Ask for no reasoning (enable_thinking: false)'
            cand --enable-search 'Let the model search the web (enable_search: true)'
            cand --no-incremental 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed'
            cand --json 'Write one JSON object per event to stdout'
            cand --raw 'Write every SSE event as one JSON object per line, before protocol decoding'
            cand -q 'Nothing on stderr but errors'
            cand --quiet 'Nothing on stderr but errors'
            cand --stats 'At the end, print time to first token, total time, deltas, tokens/s and request_id'
            cand --no-log 'Keep no record of this exchange in the log (env QSTREAM_NO_LOG=1; config `log = false`)'
            cand --log 'Keep a record in the log: the default, to undo a config file''s `log = false`'
            cand --dry-run 'Print the request as a curl command and exit without sending it'
            cand --allow-insecure-http 'Allow plain http:// to hosts other than loopback'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand config 'Show the settings in effect, the config file''s path, its roles or its profiles'
            cand log 'List, search, show and export the exchanges kept in the local log'
            cand logs 'List, search, show and export the exchanges kept in the local log'
        }
        &'qstream;config'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'Print every setting in effect for the options given, each with where it came from'
            cand path 'Print the path of the config file that would be read'
            cand roles 'List the roles the config file defines'
            cand profiles 'List the profiles the config file defines'
        }
        &'qstream;config;show'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;config;path'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;config;roles'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;config;profiles'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;log'= {
            cand -n 'How many exchanges to list (the latest)'
            cand --count 'How many exchanges to list (the latest)'
            cand -q 'Full-text search over prompts and answers (every word must appear)'
            cand --query 'Full-text search over prompts and answers (every word must appear)'
            cand --cid 'Only this conversation (a unique prefix of its id is enough)'
            cand -m 'Only this model'
            cand --model 'Only this model'
            cand --status 'Only exchanges with this status'
            cand --since 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)'
            cand --json 'One JSON object per exchange, one a line'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'One exchange, or a whole conversation: prompts and answers'
            cand last 'The last answer''s content, exactly as it was streamed to stdout'
            cand export 'A conversation as a --messages JSON array'
            cand usage 'Tokens by day (UTC) and model'
            cand rm 'Remove an exchange, or a whole conversation'
            cand path 'Print the path of the log database'
        }
        &'qstream;logs'= {
            cand -n 'How many exchanges to list (the latest)'
            cand --count 'How many exchanges to list (the latest)'
            cand -q 'Full-text search over prompts and answers (every word must appear)'
            cand --query 'Full-text search over prompts and answers (every word must appear)'
            cand --cid 'Only this conversation (a unique prefix of its id is enough)'
            cand -m 'Only this model'
            cand --model 'Only this model'
            cand --status 'Only exchanges with this status'
            cand --since 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)'
            cand --json 'One JSON object per exchange, one a line'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'One exchange, or a whole conversation: prompts and answers'
            cand last 'The last answer''s content, exactly as it was streamed to stdout'
            cand export 'A conversation as a --messages JSON array'
            cand usage 'Tokens by day (UTC) and model'
            cand rm 'Remove an exchange, or a whole conversation'
            cand path 'Print the path of the log database'
        }
        &'qstream;log;show'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;logs;show'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;log;last'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;logs;last'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;log;export'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;logs;export'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;log;usage'= {
            cand --since 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)'
            cand --json 'One JSON object per day and model'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;logs;usage'= {
            cand --since 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)'
            cand --json 'One JSON object per day and model'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;log;rm'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;logs;rm'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;log;path'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'qstream;logs;path'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
    ]
    $completions[$command]
}
