
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'qstream' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'qstream'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'qstream' {
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'System message')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System message')
            [CompletionResult]::new('--messages', '--messages', [CompletionResultType]::ParameterName, 'Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Attach an image: a URL, or a local file sent inline (repeatable)')
            [CompletionResult]::new('--audio', '--audio', [CompletionResultType]::ParameterName, 'Attach audio: a URL, or a local file sent inline (repeatable)')
            [CompletionResult]::new('--video', '--video', [CompletionResultType]::ParameterName, 'Attach a video: a URL, or a local file sent inline (repeatable)')
            [CompletionResult]::new('--cid', '--cid', [CompletionResultType]::ParameterName, 'Continue the conversation with this id (a unique prefix is enough)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]')
            [CompletionResult]::new('--thinking-budget', '--thinking-budget', [CompletionResultType]::ParameterName, 'Most reasoning tokens (thinking_budget, a positive integer); implies --thinking')
            [CompletionResult]::new('--temperature', '--temperature', [CompletionResultType]::ParameterName, 'Sampling temperature')
            [CompletionResult]::new('--top-p', '--top-p', [CompletionResultType]::ParameterName, 'Nucleus sampling threshold')
            [CompletionResult]::new('--top-k', '--top-k', [CompletionResultType]::ParameterName, 'Sample from the K most likely tokens')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'Most tokens to generate, reasoning included (compatible: max_completion_tokens; dashscope: max_tokens)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Random seed')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Stop generating at this string (repeatable)')
            [CompletionResult]::new('--presence-penalty', '--presence-penalty', [CompletionResultType]::ParameterName, 'Presence penalty (-2.0 to 2.0)')
            [CompletionResult]::new('--search-strategy', '--search-strategy', [CompletionResultType]::ParameterName, 'Web search strategy (search_options.search_strategy); implies --search')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Answer with JSON following the JSON Schema in FILE (response_format json_schema)')
            [CompletionResult]::new('--tools', '--tools', [CompletionResultType]::ParameterName, 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)')
            [CompletionResult]::new('--tool-choice', '--tool-choice', [CompletionResultType]::ParameterName, 'Whether to call a tool: auto, none, or the name of the function to call')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)')
            [CompletionResult]::new('--param', '--param', [CompletionResultType]::ParameterName, 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'Wire protocol [env: QSTREAM_PROTOCOL] [default: compatible; a replay detects it]')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region whose endpoint to use when no base URL is given; API keys work in their own region only [env: QSTREAM_REGION] [default: intl]')
            [CompletionResult]::new('--native-endpoint', '--native-endpoint', [CompletionResultType]::ParameterName, 'dashscope: the generation endpoint, instead of the one the model name picks')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1')
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read a recorded response body from FILE (`-` = stdin) instead of the network')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Also write the raw response body to FILE as it arrives')
            [CompletionResult]::new('--audio-out', '--audio-out', [CompletionResultType]::ParameterName, 'Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)')
            [CompletionResult]::new('--voice', '--voice', [CompletionResultType]::ParameterName, 'The voice for --audio-out')
            [CompletionResult]::new('--reasoning', '--reasoning', [CompletionResultType]::ParameterName, 'Where the reasoning goes in text mode')
            [CompletionResult]::new('--render', '--render', [CompletionResultType]::ParameterName, 'Markdown on the terminal: headings, lists, tables, highlighted code, line by line as it streams')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without a byte from the server before giving up')
            [CompletionResult]::new('--max-time', '--max-time', [CompletionResultType]::ParameterName, 'Seconds the whole request may take, retries and their waits included (default: no limit)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a connect failure, HTTP 429 or 5xx, before any output')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header (repeatable); replaces a default header of the same name')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header (repeatable); replaces a default header of the same name')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Workspace: with a region, its own host {ID}.{region-id}.maas.aliyuncs.com (only that workspace''s keys work there); with --base-url, the X-DashScope-WorkSpace header [env: DASHSCOPE_WORKSPACE]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Never read stdin, even when it is not a terminal (for loops that read a list from it)')
            [CompletionResult]::new('--no-stdin', '--no-stdin', [CompletionResultType]::ParameterName, 'Never read stdin, even when it is not a terminal (for loops that read a list from it)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Continue the latest conversation in the log: its earlier turns are sent first')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'Continue the latest conversation in the log: its earlier turns are sent first')
            [CompletionResult]::new('--thinking', '--thinking', [CompletionResultType]::ParameterName, 'Ask for the model''s reasoning (enable_thinking: true)')
            [CompletionResult]::new('--no-thinking', '--no-thinking', [CompletionResultType]::ParameterName, 'Ask for no reasoning (enable_thinking: false)')
            [CompletionResult]::new('--search', '--search', [CompletionResultType]::ParameterName, 'Let the model search the web (enable_search: true; billed per search)')
            [CompletionResult]::new('--force-search', '--force-search', [CompletionResultType]::ParameterName, 'Always search, not only when the model thinks it helps (forced_search); implies --search')
            [CompletionResult]::new('--sources', '--sources', [CompletionResultType]::ParameterName, 'Ask for the web sources and list them after the answer; implies --search and needs the dashscope protocol (chosen when no protocol is given)')
            [CompletionResult]::new('--json-object', '--json-object', [CompletionResultType]::ParameterName, 'Answer with a JSON object (response_format json_object; the prompt must say "JSON")')
            [CompletionResult]::new('--no-incremental', '--no-incremental', [CompletionResultType]::ParameterName, 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Write one JSON object per event to stdout')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Write every SSE event as one JSON object per line, before protocol decoding')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Nothing on stderr but errors')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Write only the contents of the first fenced code block, each line as it completes')
            [CompletionResult]::new('--extract', '--extract', [CompletionResultType]::ParameterName, 'Write only the contents of the first fenced code block, each line as it completes')
            [CompletionResult]::new('--extract-last', '--extract-last', [CompletionResultType]::ParameterName, 'Write only the contents of the last fenced code block, when the answer ends')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'At the end, print time to first token, total time, deltas, tokens/s and request_id')
            [CompletionResult]::new('--no-log', '--no-log', [CompletionResultType]::ParameterName, 'Keep no record of this exchange in the log (env QSTREAM_NO_LOG=1; config `log = false`)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Keep a record in the log: the default, to undo a config file''s `log = false`')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the request as a curl command and exit without sending it')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow plain http:// to hosts other than loopback')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the settings in effect, the config file''s path, its roles or its profiles')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'List, search, show and export the exchanges kept in the local log')
            [CompletionResult]::new('logs', 'logs', [CompletionResultType]::ParameterValue, 'List, search, show and export the exchanges kept in the local log')
            [CompletionResult]::new('batch', 'batch', [CompletionResultType]::ParameterValue, 'Many prompts at half price through the vendor''s Batch API: submit, wait, fetch')
            [CompletionResult]::new('map', 'map', [CompletionResultType]::ParameterValue, 'Send many prompts, several at a time under the account''s rate limits: one JSON line per item as it completes')
            break
        }
        'qstream;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print every setting in effect for the options given, each with where it came from')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the path of the config file that would be read')
            [CompletionResult]::new('roles', 'roles', [CompletionResultType]::ParameterValue, 'List the roles the config file defines')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'List the profiles the config file defines')
            break
        }
        'qstream;config;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;config;path' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;config;roles' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;config;profiles' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;log' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many exchanges to list (the latest)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'How many exchanges to list (the latest)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Full-text search over prompts and answers (every word must appear)')
            [CompletionResult]::new('--query', '--query', [CompletionResultType]::ParameterName, 'Full-text search over prompts and answers (every word must appear)')
            [CompletionResult]::new('--cid', '--cid', [CompletionResultType]::ParameterName, 'Only this conversation (a unique prefix of its id is enough)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Only this model')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only this model')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only exchanges with this status')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per exchange, one a line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One exchange, or a whole conversation: prompts and answers')
            [CompletionResult]::new('last', 'last', [CompletionResultType]::ParameterValue, 'The last answer''s content, exactly as it was streamed to stdout')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'A conversation as a --messages JSON array')
            [CompletionResult]::new('usage', 'usage', [CompletionResultType]::ParameterValue, 'Tokens by day (UTC) and model')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an exchange, or a whole conversation')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the path of the log database')
            break
        }
        'qstream;logs' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many exchanges to list (the latest)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'How many exchanges to list (the latest)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Full-text search over prompts and answers (every word must appear)')
            [CompletionResult]::new('--query', '--query', [CompletionResultType]::ParameterName, 'Full-text search over prompts and answers (every word must appear)')
            [CompletionResult]::new('--cid', '--cid', [CompletionResultType]::ParameterName, 'Only this conversation (a unique prefix of its id is enough)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Only this model')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only this model')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only exchanges with this status')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per exchange, one a line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One exchange, or a whole conversation: prompts and answers')
            [CompletionResult]::new('last', 'last', [CompletionResultType]::ParameterValue, 'The last answer''s content, exactly as it was streamed to stdout')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'A conversation as a --messages JSON array')
            [CompletionResult]::new('usage', 'usage', [CompletionResultType]::ParameterValue, 'Tokens by day (UTC) and model')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove an exchange, or a whole conversation')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the path of the log database')
            break
        }
        'qstream;log;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;logs;show' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;log;last' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;logs;last' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;log;export' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;logs;export' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;log;usage' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per day and model')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;logs;usage' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per day and model')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;log;rm' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;logs;rm' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;log;path' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;logs;path' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;batch' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('submit', 'submit', [CompletionResultType]::ParameterValue, 'Convert the items to the Batch API''s JSONL, check its limits, upload it and create a batch; prints the batch id')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'The batch''s status and progress')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until the batch ends (completed, failed, expired or cancelled), polling with backoff; progress on a terminal')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Download the output and error files and write one line per item, in input order, in `qstream map`''s output shape')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Cancel the batch (requests done before the cancel are still billed)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Your batches, newest first, with the input each was submitted from (when this machine submitted it)')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'Your batches, newest first, with the input each was submitted from (when this machine submitted it)')
            break
        }
        'qstream;batch;submit' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The input''s format [default: from the extension: .csv CSV, .txt lines, else JSON lines]')
            [CompletionResult]::new('--template', '--template', [CompletionResultType]::ParameterName, 'The prompt of each item, with {column} (CSV), {field} (JSON lines) or {line} (lines) filled in')
            [CompletionResult]::new('--id-column', '--id-column', [CompletionResultType]::ParameterName, 'Where each item''s id comes from (a CSV column or a JSON field) [default: id, else the line number]')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'How long the service may take: 24h to 336h (14 days), in hours or days (2d)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The batch''s name in the console (metadata ds_name, at most 100 characters)')
            [CompletionResult]::new('--description', '--description', [CompletionResultType]::ParameterName, 'The batch''s description (metadata ds_description, at most 200 characters)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Each non-blank line is a prompt (or {line} in --template); same as --format lines')
            [CompletionResult]::new('--test', '--test', [CompletionResultType]::ParameterName, 'The vendor''s free test model and endpoint (batch-test-model, /v1/chat/ds-test): checks the whole round trip at no cost (at most 100 items, 1 MB)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Write the JSONL that would be uploaded to stdout, and send nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the batch object as the service returned it, one JSON line, instead of its id')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'qstream;batch;status' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'The batch object as the service returned it, one JSON line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;batch;wait' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Seconds before the first poll; each wait is longer, up to 120 s')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'The batch object at the end, one JSON line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;batch;fetch' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the lines to FILE instead of stdout')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;batch;cancel' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'The batch object as the service returned it, one JSON line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;batch;list' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many batches to list')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'How many batches to list')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per batch, one a line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;batch;ls' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many batches to list')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'How many batches to list')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per batch, one a line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'qstream;map' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The input''s format, instead of the one its extension names')
            [CompletionResult]::new('--template', '--template', [CompletionResultType]::ParameterName, 'The prompt, with {column} (CSV), {field} (JSON lines) or {line} filled in; {{ and }} are braces')
            [CompletionResult]::new('--id-column', '--id-column', [CompletionResultType]::ParameterName, 'Where the ids come from (CSV column or JSON field) [default: id, else the line number]')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--rpm', '--rpm', [CompletionResultType]::ParameterName, 'Most requests per minute (the account''s RPM for the model)')
            [CompletionResult]::new('--tpm', '--tpm', [CompletionResultType]::ParameterName, 'Most tokens per minute, counted from the usage the service reports (the account''s TPM)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the JSON lines to FILE instead of stdout; a rerun skips the items `ok` in it')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'System message')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'System message')
            [CompletionResult]::new('--messages', '--messages', [CompletionResultType]::ParameterName, 'Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Attach an image: a URL, or a local file sent inline (repeatable)')
            [CompletionResult]::new('--audio', '--audio', [CompletionResultType]::ParameterName, 'Attach audio: a URL, or a local file sent inline (repeatable)')
            [CompletionResult]::new('--video', '--video', [CompletionResultType]::ParameterName, 'Attach a video: a URL, or a local file sent inline (repeatable)')
            [CompletionResult]::new('--cid', '--cid', [CompletionResultType]::ParameterName, 'Continue the conversation with this id (a unique prefix is enough)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Model name [env: QSTREAM_MODEL] [default: qwen-plus]')
            [CompletionResult]::new('--thinking-budget', '--thinking-budget', [CompletionResultType]::ParameterName, 'Most reasoning tokens (thinking_budget, a positive integer); implies --thinking')
            [CompletionResult]::new('--temperature', '--temperature', [CompletionResultType]::ParameterName, 'Sampling temperature')
            [CompletionResult]::new('--top-p', '--top-p', [CompletionResultType]::ParameterName, 'Nucleus sampling threshold')
            [CompletionResult]::new('--top-k', '--top-k', [CompletionResultType]::ParameterName, 'Sample from the K most likely tokens')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'Most tokens to generate, reasoning included (compatible: max_completion_tokens; dashscope: max_tokens)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Random seed')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Stop generating at this string (repeatable)')
            [CompletionResult]::new('--presence-penalty', '--presence-penalty', [CompletionResultType]::ParameterName, 'Presence penalty (-2.0 to 2.0)')
            [CompletionResult]::new('--search-strategy', '--search-strategy', [CompletionResultType]::ParameterName, 'Web search strategy (search_options.search_strategy); implies --search')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'Answer with JSON following the JSON Schema in FILE (response_format json_schema)')
            [CompletionResult]::new('--tools', '--tools', [CompletionResultType]::ParameterName, 'Tools the model may call: a JSON array of tool definitions (OpenAI shape)')
            [CompletionResult]::new('--tool-choice', '--tool-choice', [CompletionResultType]::ParameterName, 'Whether to call a tool: auto, none, or the name of the function to call')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)')
            [CompletionResult]::new('--param', '--param', [CompletionResultType]::ParameterName, 'Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'Wire protocol [env: QSTREAM_PROTOCOL] [default: compatible; a replay detects it]')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region whose endpoint to use when no base URL is given; API keys work in their own region only [env: QSTREAM_REGION] [default: intl]')
            [CompletionResult]::new('--native-endpoint', '--native-endpoint', [CompletionResultType]::ParameterName, 'dashscope: the generation endpoint, instead of the one the model name picks')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1')
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read a recorded response body from FILE (`-` = stdin) instead of the network')
            [CompletionResult]::new('--record', '--record', [CompletionResultType]::ParameterName, 'Also write the raw response body to FILE as it arrives')
            [CompletionResult]::new('--audio-out', '--audio-out', [CompletionResultType]::ParameterName, 'Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)')
            [CompletionResult]::new('--voice', '--voice', [CompletionResultType]::ParameterName, 'The voice for --audio-out')
            [CompletionResult]::new('--reasoning', '--reasoning', [CompletionResultType]::ParameterName, 'Where the reasoning goes in text mode')
            [CompletionResult]::new('--render', '--render', [CompletionResultType]::ParameterName, 'Markdown on the terminal: headings, lists, tables, highlighted code, line by line as it streams')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour on stderr')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds without a byte from the server before giving up')
            [CompletionResult]::new('--max-time', '--max-time', [CompletionResultType]::ParameterName, 'Seconds the whole request may take, retries and their waits included (default: no limit)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a connect failure, HTTP 429 or 5xx, before any output')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header (repeatable); replaces a default header of the same name')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header (repeatable); replaces a default header of the same name')
            [CompletionResult]::new('--workspace', '--workspace', [CompletionResultType]::ParameterName, 'Workspace: with a region, its own host {ID}.{region-id}.maas.aliyuncs.com (only that workspace''s keys work there); with --base-url, the X-DashScope-WorkSpace header [env: DASHSCOPE_WORKSPACE]')
            [CompletionResult]::new('--map-prompt-words', '--map-prompt-words', [CompletionResultType]::ParameterName, 'map-prompt-words')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The config file to read instead of ~/.config/qstream/config.toml')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Use the config file''s [profiles.NAME] (region, workspace, key variable, defaults)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Use the config file''s [roles.NAME] (system message, prompt template, defaults)')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Each line of the input is a prompt (--format lines)')
            [CompletionResult]::new('--ordered', '--ordered', [CompletionResultType]::ParameterName, 'Write the lines in input order (else as items complete)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Never read stdin, even when it is not a terminal (for loops that read a list from it)')
            [CompletionResult]::new('--no-stdin', '--no-stdin', [CompletionResultType]::ParameterName, 'Never read stdin, even when it is not a terminal (for loops that read a list from it)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Continue the latest conversation in the log: its earlier turns are sent first')
            [CompletionResult]::new('--continue', '--continue', [CompletionResultType]::ParameterName, 'Continue the latest conversation in the log: its earlier turns are sent first')
            [CompletionResult]::new('--thinking', '--thinking', [CompletionResultType]::ParameterName, 'Ask for the model''s reasoning (enable_thinking: true)')
            [CompletionResult]::new('--no-thinking', '--no-thinking', [CompletionResultType]::ParameterName, 'Ask for no reasoning (enable_thinking: false)')
            [CompletionResult]::new('--search', '--search', [CompletionResultType]::ParameterName, 'Let the model search the web (enable_search: true; billed per search)')
            [CompletionResult]::new('--force-search', '--force-search', [CompletionResultType]::ParameterName, 'Always search, not only when the model thinks it helps (forced_search); implies --search')
            [CompletionResult]::new('--sources', '--sources', [CompletionResultType]::ParameterName, 'Ask for the web sources and list them after the answer; implies --search and needs the dashscope protocol (chosen when no protocol is given)')
            [CompletionResult]::new('--json-object', '--json-object', [CompletionResultType]::ParameterName, 'Answer with a JSON object (response_format json_object; the prompt must say "JSON")')
            [CompletionResult]::new('--no-incremental', '--no-incremental', [CompletionResultType]::ParameterName, 'dashscope: ask for cumulative output (incremental_output: false); deltas are still printed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Write one JSON object per event to stdout')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Write every SSE event as one JSON object per line, before protocol decoding')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Nothing on stderr but errors')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Write only the contents of the first fenced code block, each line as it completes')
            [CompletionResult]::new('--extract', '--extract', [CompletionResultType]::ParameterName, 'Write only the contents of the first fenced code block, each line as it completes')
            [CompletionResult]::new('--extract-last', '--extract-last', [CompletionResultType]::ParameterName, 'Write only the contents of the last fenced code block, when the answer ends')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'At the end, print time to first token, total time, deltas, tokens/s and request_id')
            [CompletionResult]::new('--no-log', '--no-log', [CompletionResultType]::ParameterName, 'Keep no record of this exchange in the log (env QSTREAM_NO_LOG=1; config `log = false`)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Keep a record in the log: the default, to undo a config file''s `log = false`')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the request as a curl command and exit without sending it')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow plain http:// to hosts other than loopback')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
