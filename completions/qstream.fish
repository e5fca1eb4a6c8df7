# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_qstream_global_optspecs
    string join \n n/no-stdin s/system= messages= image= audio= video= c/continue cid= m/model= thinking no-thinking thinking-budget= temperature= top-p= top-k= max-tokens= seed= stop= presence-penalty= search search-strategy= force-search sources json-object schema= tools= tool-choice= o/param= protocol= region= native-endpoint= base-url= no-incremental json raw replay= record= q/quiet audio-out= voice= reasoning= render= x/extract extract-last color= stats no-log log dry-run connect-timeout= timeout= max-time= retries= H/header= workspace= allow-insecure-http config= P/profile= r/role= h/help V/version
end

function __fish_qstream_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_qstream_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_qstream_using_subcommand
    set -l cmd (__fish_qstream_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c qstream -n "__fish_qstream_needs_command" -s s -l system -d 'System message' -r
complete -c qstream -n "__fish_qstream_needs_command" -l messages -d 'Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended' -r -F
complete -c qstream -n "__fish_qstream_needs_command" -l image -d 'Attach an image: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_needs_command" -l audio -d 'Attach audio: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_needs_command" -l video -d 'Attach a video: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_needs_command" -l cid -d 'Continue the conversation with this id (a unique prefix is enough)' -r
complete -c qstream -n "__fish_qstream_needs_command" -s m -l model -d 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]' -r
complete -c qstream -n "__fish_qstream_needs_command" -l thinking-budget -d 'Most reasoning tokens (thinking_budget, a positive integer); implies --thinking' -r
complete -c qstream -n "__fish_qstream_needs_command" -l temperature -d 'Sampling temperature' -r
complete -c qstream -n "__fish_qstream_needs_command" -l top-p -d 'Nucleus sampling threshold' -r
complete -c qstream -n "__fish_qstream_needs_command" -l top-k -d 'Sample from the K most likely tokens' -r
complete -c qstream -n "__fish_qstream_needs_command" -l max-tokens -d 'Most tokens to generate, reasoning included (compatible: max_completion_tokens; dashscope: max_tokens)' -r
complete -c qstream -n "__fish_qstream_needs_command" -l seed -d 'Random seed' -r
complete -c qstream -n "__fish_qstream_needs_command" -l stop -d 'Stop generating at this string (repeatable)' -r
complete -c qstream -n "__fish_qstream_needs_command" -l presence-penalty -d 'Presence penalty (-2.0 to 2.0)' -r
complete -c qstream -n "__fish_qstream_needs_command" -l search-strategy -d 'Web search strategy (search_options.search_strategy); implies --search' -r -f -a "turbo\t''
max\t''
agent\t''
agent_max\t''"
complete -c qstream -n "__fish_qstream_needs_command" -l schema -d 'Answer with JSON following the JSON Schema in FILE (response_format json_schema)' -r -F
complete -c qstream -n "__fish_qstream_needs_command" -l tools -d 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)' -r -F
complete -c qstream -n "__fish_qstream_needs_command" -l tool-choice -d 'Whether to call a tool: auto, none, or the name of the function to call' -r
complete -c qstream -n "__fish_qstream_needs_command" -s o -l param -d 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)' -r
complete -c qstream -n "__fish_qstream_needs_command" -l protocol -d 'Wire protocol [env: QSTREAM_PROTOCOL] [default: compatible; a replay detects it]' -r -f -a "compatible\t'OpenAI-compatible: {base}/chat/completions'
dashscope\t'DashScope native: {base}/services/aigc/text-generation/generation'"
complete -c qstream -n "__fish_qstream_needs_command" -l region -d 'Region whose endpoint to use when no base URL is given; API keys work in their own region only [env: QSTREAM_REGION] [default: intl]' -r -f -a "intl\t'Singapore: dashscope-intl.aliyuncs.com'
cn\t'China (Beijing): dashscope.aliyuncs.com'
us\t'US (Virginia): dashscope-us.aliyuncs.com'
hk\t'China (Hong Kong): cn-hongkong.dashscope.aliyuncs.com'
eu\t'Germany (Frankfurt): only through a workspace host (needs --workspace)'
jp\t'Japan (Tokyo): only through a workspace host (needs --workspace)'"
complete -c qstream -n "__fish_qstream_needs_command" -l native-endpoint -d 'dashscope: the generation endpoint, instead of the one the model name picks' -r -f -a "text\t'{base}/services/aigc/text-generation/generation'
multimodal\t'{base}/services/aigc/multimodal-generation/generation (content as [{"text": …}] lists)'"
complete -c qstream -n "__fish_qstream_needs_command" -l base-url -d 'Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1' -r
complete -c qstream -n "__fish_qstream_needs_command" -l replay -d 'Read a recorded response body from FILE (`-` = stdin) instead of the network' -r -F
complete -c qstream -n "__fish_qstream_needs_command" -l record -d 'Also write the raw response body to FILE as it arrives' -r -F
complete -c qstream -n "__fish_qstream_needs_command" -l audio-out -d 'Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)' -r -F
complete -c qstream -n "__fish_qstream_needs_command" -l voice -d 'The voice for --audio-out' -r
complete -c qstream -n "__fish_qstream_needs_command" -l reasoning -d 'Where the reasoning goes in text mode' -r -f -a "stderr\t'Reasoning on stderr (dimmed on a terminal)'
stdout\t'Reasoning on stdout before the answer, inside <think>…</think>'
hide\t'Keep thinking on but print none of it'"
complete -c qstream -n "__fish_qstream_needs_command" -l render -d 'Markdown on the terminal: headings, lists, tables, highlighted code, line by line as it streams' -r -f -a "auto\t'Render when stdout is a terminal and colour is allowed (NO_COLOR, TERM=dumb, --color never ask for plain)'
markdown\t'Render also into a pipe or file (for `less -R`); width from COLUMNS, else 80'
plain\t'Never render: the model\'s text as it came'"
complete -c qstream -n "__fish_qstream_needs_command" -l color -d 'When to use colour on stderr' -r -f -a "auto\t'Colour on a terminal, as NO_COLOR, CLICOLOR, CLICOLOR_FORCE and TERM allow'
always\t''
never\t''"
complete -c qstream -n "__fish_qstream_needs_command" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c qstream -n "__fish_qstream_needs_command" -l timeout -d 'Seconds without a byte from the server before giving up' -r
complete -c qstream -n "__fish_qstream_needs_command" -l max-time -d 'Seconds the whole request may take, retries and their waits included (default: no limit)' -r
complete -c qstream -n "__fish_qstream_needs_command" -l retries -d 'Retries after a connect failure, HTTP 429 or 5xx, before any output' -r
complete -c qstream -n "__fish_qstream_needs_command" -s H -l header -d 'Extra request header (repeatable); replaces a default header of the same name' -r
complete -c qstream -n "__fish_qstream_needs_command" -l workspace -d 'Workspace: with a region, its own host {ID}.{region-id}.maas.aliyuncs.com (only that workspace\'s keys work there); with --base-url, the X-DashScope-WorkSpace header [env: DASHSCOPE_WORKSPACE]' -r
complete -c qstream -n "__fish_qstream_needs_command" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_needs_command" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_needs_command" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_needs_command" -s n -l no-stdin -d 'Never read stdin, even when it is not a terminal (for loops that read a list from it)'
complete -c qstream -n "__fish_qstream_needs_command" -s c -l continue -d 'Continue the latest conversation in the log: its earlier turns are sent first'
complete -c qstream -n "__fish_qstream_needs_command" -l thinking -d 'Ask for the model\'s reasoning (enable_thinking: true)'
complete -c qstream -n "__fish_qstream_needs_command" -l no-thinking -d 'Ask for no reasoning (enable_thinking: false)'
complete -c qstream -n "__fish_qstream_needs_command" -l search -d 'Let the model search the web (enable_search: true; billed per search)'
complete -c qstream -n "__fish_qstream_needs_command" -l force-search -d 'Always search, not only when the model thinks it helps (forced_search); implies --search'
complete -c qstream -n "__fish_qstream_needs_command" -l sources -d 'Ask for the web sources and list them after the answer; implies --search and needs the dashscope protocol (chosen when no protocol is given)'
complete -c qstream -n "__fish_qstream_needs_command" -l json-object -d 'Answer with a JSON object (response_format json_object; the prompt must say "JSON")'
complete -c qstream -n "__fish_qstream_needs_command" -l no-incremental -d 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed'
complete -c qstream -n "__fish_qstream_needs_command" -l json -d 'Write one JSON object per event to stdout'
complete -c qstream -n "__fish_qstream_needs_command" -l raw -d 'Write every SSE event as one JSON object per line, before protocol decoding'
complete -c qstream -n "__fish_qstream_needs_command" -s q -l quiet -d 'Nothing on stderr but errors'
complete -c qstream -n "__fish_qstream_needs_command" -s x -l extract -d 'Write only the contents of the first fenced code block, each line as it completes'
complete -c qstream -n "__fish_qstream_needs_command" -l extract-last -d 'Write only the contents of the last fenced code block, when the answer ends'
complete -c qstream -n "__fish_qstream_needs_command" -l stats -d 'At the end, print time to first token, total time, deltas, tokens/s and request_id'
complete -c qstream -n "__fish_qstream_needs_command" -l no-log -d 'Keep no record of this exchange in the log (env QSTREAM_NO_LOG=1; config `log = false`)'
complete -c qstream -n "__fish_qstream_needs_command" -l log -d 'Keep a record in the log: the default, to undo a config file\'s `log = false`'
complete -c qstream -n "__fish_qstream_needs_command" -l dry-run -d 'Print the request as a curl command and exit without sending it'
complete -c qstream -n "__fish_qstream_needs_command" -l allow-insecure-http -d 'Allow plain http:// to hosts other than loopback'
complete -c qstream -n "__fish_qstream_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c qstream -n "__fish_qstream_needs_command" -s V -l version -d 'Print version'
complete -c qstream -n "__fish_qstream_needs_command" -a "config" -d 'Show the settings in effect, the config file\'s path, its roles or its profiles'
complete -c qstream -n "__fish_qstream_needs_command" -a "log" -d 'List, search, show and export the exchanges kept in the local log'
complete -c qstream -n "__fish_qstream_needs_command" -a "logs" -d 'List, search, show and export the exchanges kept in the local log'
complete -c qstream -n "__fish_qstream_needs_command" -a "map" -d 'Send many prompts, several at a time under the account\'s rate limits: one JSON line per item as it completes'
complete -c qstream -n "__fish_qstream_needs_command" -a "batch" -d 'Many prompts at half price through the vendor\'s Batch API: submit, wait, fetch'
complete -c qstream -n "__fish_qstream_using_subcommand config; and not __fish_seen_subcommand_from show path roles profiles" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand config; and not __fish_seen_subcommand_from show path roles profiles" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and not __fish_seen_subcommand_from show path roles profiles" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and not __fish_seen_subcommand_from show path roles profiles" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand config; and not __fish_seen_subcommand_from show path roles profiles" -f -a "show" -d 'Print every setting in effect for the options given, each with where it came from'
complete -c qstream -n "__fish_qstream_using_subcommand config; and not __fish_seen_subcommand_from show path roles profiles" -f -a "path" -d 'Print the path of the config file that would be read'
complete -c qstream -n "__fish_qstream_using_subcommand config; and not __fish_seen_subcommand_from show path roles profiles" -f -a "roles" -d 'List the roles the config file defines'
complete -c qstream -n "__fish_qstream_using_subcommand config; and not __fish_seen_subcommand_from show path roles profiles" -f -a "profiles" -d 'List the profiles the config file defines'
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from show" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from show" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from path" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from path" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from path" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from roles" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from roles" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from roles" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from roles" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from profiles" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from profiles" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from profiles" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand config; and __fish_seen_subcommand_from profiles" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -s n -l count -d 'How many exchanges to list (the latest)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -s q -l query -d 'Full-text search over prompts and answers (every word must appear)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -l cid -d 'Only this conversation (a unique prefix of its id is enough)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -s m -l model -d 'Only this model' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -l status -d 'Only exchanges with this status' -r -f -a "ok\t''
error\t''
interrupted\t''
truncated\t''
running\t''"
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -l since -d 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -l json -d 'One JSON object per exchange, one a line'
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "show" -d 'One exchange, or a whole conversation: prompts and answers'
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "last" -d 'The last answer\'s content, exactly as it was streamed to stdout'
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "export" -d 'A conversation as a --messages JSON array'
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "usage" -d 'Tokens by day (UTC) and model'
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "rm" -d 'Remove an exchange, or a whole conversation'
complete -c qstream -n "__fish_qstream_using_subcommand log; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "path" -d 'Print the path of the log database'
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from show" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from show" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from show" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from last" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from last" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from last" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from last" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from export" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from export" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from export" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from usage" -l since -d 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from usage" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from usage" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from usage" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from usage" -l json -d 'One JSON object per day and model'
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from usage" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from rm" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from rm" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from rm" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from path" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from path" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from path" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand log; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -s n -l count -d 'How many exchanges to list (the latest)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -s q -l query -d 'Full-text search over prompts and answers (every word must appear)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -l cid -d 'Only this conversation (a unique prefix of its id is enough)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -s m -l model -d 'Only this model' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -l status -d 'Only exchanges with this status' -r -f -a "ok\t''
error\t''
interrupted\t''
truncated\t''
running\t''"
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -l since -d 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -l json -d 'One JSON object per exchange, one a line'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "show" -d 'One exchange, or a whole conversation: prompts and answers'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "last" -d 'The last answer\'s content, exactly as it was streamed to stdout'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "export" -d 'A conversation as a --messages JSON array'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "usage" -d 'Tokens by day (UTC) and model'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "rm" -d 'Remove an exchange, or a whole conversation'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and not __fish_seen_subcommand_from show last export usage rm path" -f -a "path" -d 'Print the path of the log database'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from show" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from show" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from show" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from last" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from last" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from last" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from last" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from export" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from export" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from export" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from usage" -l since -d 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from usage" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from usage" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from usage" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from usage" -l json -d 'One JSON object per day and model'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from usage" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from rm" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from rm" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from rm" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from path" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from path" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from path" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand logs; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l format -d 'The input\'s format, instead of the one its extension names' -r -f -a "jsonl\t'One JSON object a line: {"id", "prompt", "system", "model", "messages", "params"}'
csv\t'A header row, then one record a line (RFC 4180); prompts from --template or a `prompt` column'
lines\t'Each non-blank line a prompt (or `{line}` in --template)'"
complete -c qstream -n "__fish_qstream_using_subcommand map" -l template -d 'The prompt, with {column} (CSV), {field} (JSON lines) or {line} filled in; {{ and }} are braces' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l id-column -d 'Where the ids come from (CSV column or JSON field) [default: id, else the line number]' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -s j -l jobs -d 'Requests in flight at once' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l rpm -d 'Most requests per minute (the account\'s RPM for the model)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l tpm -d 'Most tokens per minute, counted from the usage the service reports (the account\'s TPM)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l output -d 'Write the JSON lines to FILE instead of stdout; a rerun skips the items `ok` in it' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand map" -s s -l system -d 'System message' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l messages -d 'Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand map" -l image -d 'Attach an image: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l audio -d 'Attach audio: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l video -d 'Attach a video: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l cid -d 'Continue the conversation with this id (a unique prefix is enough)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -s m -l model -d 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l thinking-budget -d 'Most reasoning tokens (thinking_budget, a positive integer); implies --thinking' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l temperature -d 'Sampling temperature' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l top-p -d 'Nucleus sampling threshold' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l top-k -d 'Sample from the K most likely tokens' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l max-tokens -d 'Most tokens to generate, reasoning included (compatible: max_completion_tokens; dashscope: max_tokens)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l seed -d 'Random seed' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l stop -d 'Stop generating at this string (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l presence-penalty -d 'Presence penalty (-2.0 to 2.0)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l search-strategy -d 'Web search strategy (search_options.search_strategy); implies --search' -r -f -a "turbo\t''
max\t''
agent\t''
agent_max\t''"
complete -c qstream -n "__fish_qstream_using_subcommand map" -l schema -d 'Answer with JSON following the JSON Schema in FILE (response_format json_schema)' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand map" -l tools -d 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand map" -l tool-choice -d 'Whether to call a tool: auto, none, or the name of the function to call' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -s o -l param -d 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l protocol -d 'Wire protocol [env: QSTREAM_PROTOCOL] [default: compatible; a replay detects it]' -r -f -a "compatible\t'OpenAI-compatible: {base}/chat/completions'
dashscope\t'DashScope native: {base}/services/aigc/text-generation/generation'"
complete -c qstream -n "__fish_qstream_using_subcommand map" -l region -d 'Region whose endpoint to use when no base URL is given; API keys work in their own region only [env: QSTREAM_REGION] [default: intl]' -r -f -a "intl\t'Singapore: dashscope-intl.aliyuncs.com'
cn\t'China (Beijing): dashscope.aliyuncs.com'
us\t'US (Virginia): dashscope-us.aliyuncs.com'
hk\t'China (Hong Kong): cn-hongkong.dashscope.aliyuncs.com'
eu\t'Germany (Frankfurt): only through a workspace host (needs --workspace)'
jp\t'Japan (Tokyo): only through a workspace host (needs --workspace)'"
complete -c qstream -n "__fish_qstream_using_subcommand map" -l native-endpoint -d 'dashscope: the generation endpoint, instead of the one the model name picks' -r -f -a "text\t'{base}/services/aigc/text-generation/generation'
multimodal\t'{base}/services/aigc/multimodal-generation/generation (content as [{"text": …}] lists)'"
complete -c qstream -n "__fish_qstream_using_subcommand map" -l base-url -d 'Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l replay -d 'Read a recorded response body from FILE (`-` = stdin) instead of the network' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand map" -l record -d 'Also write the raw response body to FILE as it arrives' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand map" -l audio-out -d 'Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand map" -l voice -d 'The voice for --audio-out' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l reasoning -d 'Where the reasoning goes in text mode' -r -f -a "stderr\t'Reasoning on stderr (dimmed on a terminal)'
stdout\t'Reasoning on stdout before the answer, inside <think>…</think>'
hide\t'Keep thinking on but print none of it'"
complete -c qstream -n "__fish_qstream_using_subcommand map" -l render -d 'Markdown on the terminal: headings, lists, tables, highlighted code, line by line as it streams' -r -f -a "auto\t'Render when stdout is a terminal and colour is allowed (NO_COLOR, TERM=dumb, --color never ask for plain)'
markdown\t'Render also into a pipe or file (for `less -R`); width from COLUMNS, else 80'
plain\t'Never render: the model\'s text as it came'"
complete -c qstream -n "__fish_qstream_using_subcommand map" -l color -d 'When to use colour on stderr' -r -f -a "auto\t'Colour on a terminal, as NO_COLOR, CLICOLOR, CLICOLOR_FORCE and TERM allow'
always\t''
never\t''"
complete -c qstream -n "__fish_qstream_using_subcommand map" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l timeout -d 'Seconds without a byte from the server before giving up' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l max-time -d 'Seconds the whole request may take, retries and their waits included (default: no limit)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l retries -d 'Retries after a connect failure, HTTP 429 or 5xx, before any output' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -s H -l header -d 'Extra request header (repeatable); replaces a default header of the same name' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l workspace -d 'Workspace: with a region, its own host {ID}.{region-id}.maas.aliyuncs.com (only that workspace\'s keys work there); with --base-url, the X-DashScope-WorkSpace header [env: DASHSCOPE_WORKSPACE]' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l map-prompt-words -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand map" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand map" -l lines -d 'Each line of the input is a prompt (--format lines)'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l ordered -d 'Write the lines in input order (else as items complete)'
complete -c qstream -n "__fish_qstream_using_subcommand map" -s n -l no-stdin -d 'Never read stdin, even when it is not a terminal (for loops that read a list from it)'
complete -c qstream -n "__fish_qstream_using_subcommand map" -s c -l continue -d 'Continue the latest conversation in the log: its earlier turns are sent first'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l thinking -d 'Ask for the model\'s reasoning (enable_thinking: true)'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l no-thinking -d 'Ask for no reasoning (enable_thinking: false)'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l search -d 'Let the model search the web (enable_search: true; billed per search)'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l force-search -d 'Always search, not only when the model thinks it helps (forced_search); implies --search'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l sources -d 'Ask for the web sources and list them after the answer; implies --search and needs the dashscope protocol (chosen when no protocol is given)'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l json-object -d 'Answer with a JSON object (response_format json_object; the prompt must say "JSON")'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l no-incremental -d 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l json -d 'Write one JSON object per event to stdout'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l raw -d 'Write every SSE event as one JSON object per line, before protocol decoding'
complete -c qstream -n "__fish_qstream_using_subcommand map" -s q -l quiet -d 'Nothing on stderr but errors'
complete -c qstream -n "__fish_qstream_using_subcommand map" -s x -l extract -d 'Write only the contents of the first fenced code block, each line as it completes'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l extract-last -d 'Write only the contents of the last fenced code block, when the answer ends'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l stats -d 'At the end, print time to first token, total time, deltas, tokens/s and request_id'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l no-log -d 'Keep no record of this exchange in the log (env QSTREAM_NO_LOG=1; config `log = false`)'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l log -d 'Keep a record in the log: the default, to undo a config file\'s `log = false`'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l dry-run -d 'Print the request as a curl command and exit without sending it'
complete -c qstream -n "__fish_qstream_using_subcommand map" -l allow-insecure-http -d 'Allow plain http:// to hosts other than loopback'
complete -c qstream -n "__fish_qstream_using_subcommand map" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -f -a "status" -d 'The batch\'s status and progress'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -f -a "wait" -d 'Wait until the batch ends (completed, failed, expired or cancelled), polling with backoff; progress on a terminal'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -f -a "fetch" -d 'Download the output and error files and write one line per item, in input order, in `qstream map`\'s output shape'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -f -a "cancel" -d 'Cancel the batch (requests done before the cancel are still billed)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -f -a "list" -d 'Your batches, newest first, with the input each was submitted from (when this machine submitted it)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -f -a "ls" -d 'Your batches, newest first, with the input each was submitted from (when this machine submitted it)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and not __fish_seen_subcommand_from status wait fetch cancel list ls submit" -f -a "submit" -d 'Convert the items to the Batch API\'s JSONL, check its limits, upload it and create a batch; prints the batch id'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from status" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from status" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from status" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from status" -l json -d 'The batch object as the service returned it, one JSON line'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from wait" -l interval -d 'Seconds before the first poll; each wait is longer, up to 120 s' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from wait" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from wait" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from wait" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from wait" -l json -d 'The batch object at the end, one JSON line'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from wait" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from fetch" -l output -d 'Write the lines to FILE instead of stdout' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from fetch" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from fetch" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from fetch" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from fetch" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from cancel" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from cancel" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from cancel" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from cancel" -l json -d 'The batch object as the service returned it, one JSON line'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from list" -s n -l count -d 'How many batches to list' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from list" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from list" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from list" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from list" -l json -d 'One JSON object per batch, one a line'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from ls" -s n -l count -d 'How many batches to list' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from ls" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from ls" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from ls" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from ls" -l json -d 'One JSON object per batch, one a line'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l format -d 'The input\'s format [default: from the extension: .csv CSV, .txt lines, else JSON lines]' -r -f -a "jsonl\t'One JSON object a line: {"id", "prompt", "system", "model", "messages", "params"}'
csv\t'A header row, then one record a line (RFC 4180); prompts from --template or a `prompt` column'
lines\t'Each non-blank line a prompt (or `{line}` in --template)'"
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l template -d 'The prompt of each item, with {column} (CSV), {field} (JSON lines) or {line} (lines) filled in' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l id-column -d 'Where each item\'s id comes from (a CSV column or a JSON field) [default: id, else the line number]' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l window -d 'How long the service may take: 24h to 336h (14 days), in hours or days (2d)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l name -d 'The batch\'s name in the console (metadata ds_name, at most 100 characters)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l description -d 'The batch\'s description (metadata ds_description, at most 200 characters)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s s -l system -d 'System message' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l messages -d 'Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l image -d 'Attach an image: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l audio -d 'Attach audio: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l video -d 'Attach a video: a URL, or a local file sent inline (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l cid -d 'Continue the conversation with this id (a unique prefix is enough)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s m -l model -d 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l thinking-budget -d 'Most reasoning tokens (thinking_budget, a positive integer); implies --thinking' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l temperature -d 'Sampling temperature' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l top-p -d 'Nucleus sampling threshold' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l top-k -d 'Sample from the K most likely tokens' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l max-tokens -d 'Most tokens to generate, reasoning included (compatible: max_completion_tokens; dashscope: max_tokens)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l seed -d 'Random seed' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l stop -d 'Stop generating at this string (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l presence-penalty -d 'Presence penalty (-2.0 to 2.0)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l search-strategy -d 'Web search strategy (search_options.search_strategy); implies --search' -r -f -a "turbo\t''
max\t''
agent\t''
agent_max\t''"
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l schema -d 'Answer with JSON following the JSON Schema in FILE (response_format json_schema)' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l tools -d 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l tool-choice -d 'Whether to call a tool: auto, none, or the name of the function to call' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s o -l param -d 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l protocol -d 'Wire protocol [env: QSTREAM_PROTOCOL] [default: compatible; a replay detects it]' -r -f -a "compatible\t'OpenAI-compatible: {base}/chat/completions'
dashscope\t'DashScope native: {base}/services/aigc/text-generation/generation'"
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l region -d 'Region whose endpoint to use when no base URL is given; API keys work in their own region only [env: QSTREAM_REGION] [default: intl]' -r -f -a "intl\t'Singapore: dashscope-intl.aliyuncs.com'
cn\t'China (Beijing): dashscope.aliyuncs.com'
us\t'US (Virginia): dashscope-us.aliyuncs.com'
hk\t'China (Hong Kong): cn-hongkong.dashscope.aliyuncs.com'
eu\t'Germany (Frankfurt): only through a workspace host (needs --workspace)'
jp\t'Japan (Tokyo): only through a workspace host (needs --workspace)'"
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l native-endpoint -d 'dashscope: the generation endpoint, instead of the one the model name picks' -r -f -a "text\t'{base}/services/aigc/text-generation/generation'
multimodal\t'{base}/services/aigc/multimodal-generation/generation (content as [{"text": …}] lists)'"
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l base-url -d 'Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l replay -d 'Read a recorded response body from FILE (`-` = stdin) instead of the network' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l record -d 'Also write the raw response body to FILE as it arrives' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l audio-out -d 'Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l voice -d 'The voice for --audio-out' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l reasoning -d 'Where the reasoning goes in text mode' -r -f -a "stderr\t'Reasoning on stderr (dimmed on a terminal)'
stdout\t'Reasoning on stdout before the answer, inside <think>…</think>'
hide\t'Keep thinking on but print none of it'"
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l render -d 'Markdown on the terminal: headings, lists, tables, highlighted code, line by line as it streams' -r -f -a "auto\t'Render when stdout is a terminal and colour is allowed (NO_COLOR, TERM=dumb, --color never ask for plain)'
markdown\t'Render also into a pipe or file (for `less -R`); width from COLUMNS, else 80'
plain\t'Never render: the model\'s text as it came'"
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l color -d 'When to use colour on stderr' -r -f -a "auto\t'Colour on a terminal, as NO_COLOR, CLICOLOR, CLICOLOR_FORCE and TERM allow'
always\t''
never\t''"
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l connect-timeout -d 'Seconds to wait for a connection' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l timeout -d 'Seconds without a byte from the server before giving up' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l max-time -d 'Seconds the whole request may take, retries and their waits included (default: no limit)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l retries -d 'Retries after a connect failure, HTTP 429 or 5xx, before any output' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s H -l header -d 'Extra request header (repeatable); replaces a default header of the same name' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l workspace -d 'Workspace: with a region, its own host {ID}.{region-id}.maas.aliyuncs.com (only that workspace\'s keys work there); with --base-url, the X-DashScope-WorkSpace header [env: DASHSCOPE_WORKSPACE]' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l batch-prompt-words -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l config -d 'The config file to read instead of ~/.config/qstream/config.toml' -r -F
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s P -l profile -d 'Use the config file\'s [profiles.NAME] (region, workspace, key variable, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s r -l role -d 'Use the config file\'s [roles.NAME] (system message, prompt template, defaults)' -r
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l lines -d 'Each non-blank line is a prompt (or {line} in --template); same as --format lines'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l test -d 'The vendor\'s free test model and endpoint (batch-test-model, /v1/chat/ds-test): checks the whole round trip at no cost (at most 100 items, 1 MB)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l dry-run -d 'Write the JSONL that would be uploaded to stdout, and send nothing'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l json -d 'Print the batch object as the service returned it, one JSON line, instead of its id'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s n -l no-stdin -d 'Never read stdin, even when it is not a terminal (for loops that read a list from it)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s c -l continue -d 'Continue the latest conversation in the log: its earlier turns are sent first'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l thinking -d 'Ask for the model\'s reasoning (enable_thinking: true)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l no-thinking -d 'Ask for no reasoning (enable_thinking: false)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l search -d 'Let the model search the web (enable_search: true; billed per search)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l force-search -d 'Always search, not only when the model thinks it helps (forced_search); implies --search'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l sources -d 'Ask for the web sources and list them after the answer; implies --search and needs the dashscope protocol (chosen when no protocol is given)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l json-object -d 'Answer with a JSON object (response_format json_object; the prompt must say "JSON")'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l no-incremental -d 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l raw -d 'Write every SSE event as one JSON object per line, before protocol decoding'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s q -l quiet -d 'Nothing on stderr but errors'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s x -l extract -d 'Write only the contents of the first fenced code block, each line as it completes'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l extract-last -d 'Write only the contents of the last fenced code block, when the answer ends'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l stats -d 'At the end, print time to first token, total time, deltas, tokens/s and request_id'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l no-log -d 'Keep no record of this exchange in the log (env QSTREAM_NO_LOG=1; config `log = false`)'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l log -d 'Keep a record in the log: the default, to undo a config file\'s `log = false`'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -l allow-insecure-http -d 'Allow plain http:// to hosts other than loopback'
complete -c qstream -n "__fish_qstream_using_subcommand batch; and __fish_seen_subcommand_from submit" -s h -l help -d 'Print help (see more with \'--help\')'
