# bash completion for mmapxx's tools mmcat, mmcp and mmtouch (installed under each name).
# Options and which of them take a value are read from the tool's own --help, so completion
# stays in step with the tool: a CLI11 option line is "-s,--long TYPE[:{a,b}]  description".

_mmapxx_tool()
{
    local cur prev words cword split
    _init_completion -s || return

    local tool=${words[0]} line names type value_type="" options=()
    while read -r line; do
        [[ $line == -* ]] || continue
        line=${line%%  *}
        names=${line%% *}
        type=""
        [[ $line == *" "* ]] && type=${line#* } && type=${type%% *}
        # A value's type is upper case (TEXT, UINT, TEXT:{a,b}); "Excludes:" and "Needs:" are not.
        [[ $type =~ ^[A-Z][A-Z0-9_]*(:.*)?$ ]] || type=""
        local IFS=,
        local -a each=($names)
        unset IFS
        options+=("${each[@]}")
        local name
        for name in "${each[@]}"; do
            [[ -n $type && $prev == "$name" ]] && value_type=$type
        done
    done < <("$tool" --help 2>/dev/null)

    if [[ -n $value_type ]]; then
        if [[ $value_type == *:{*} ]]; then
            local choices=${value_type#*:\{}
            choices=${choices%\}}
            COMPREPLY=($(compgen -W "${choices//,/ }" -- "$cur"))
        elif [[ $value_type != @(INT|UINT|FLOAT|NUMBER)* ]]; then
            _filedir
        fi
        return
    fi
    $split && return

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${options[*]}" -- "$cur"))
        return
    fi

    # mmcat FILE OFFSET [LENGTH]...: only its first argument is a file.
    if [[ ${tool##*/} == mmcat ]]; then
        local i arguments=0
        for ((i = 1; i < cword; i++)); do
            [[ ${words[i]} != -* ]] && ((arguments++))
        done
        ((arguments > 0)) && return
    fi
    _filedir
} &&
    complete -F _mmapxx_tool mmcat mmcp mmtouch

# ex: filetype=sh
