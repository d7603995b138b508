# vivado_stub.tcl -- runs a deploy package's vivado/build.tcl under plain tclsh, with every Vivado
# command it uses replaced by a recording model (no Vivado here). Usage:
#     tclsh vivado_stub.tcl LOG.jsonl STATE.json path/to/build.tcl [tclargs...]
# Each Vivado command call is appended to LOG.jsonl as {"cmd": ..., "args": [...]}; STATE.json gets
# the model's final state (the IP's synthesis file group, properties). A command the model does not
# know is an error, so the TCL cannot call something unchecked.
#
# What the model does, as Vivado would:
#  - get_board_parts finds the board part unless CODESIGN_STUB_NO_BOARD_FILES=1, in which case only a
#    board.repoPaths folder that exists (set_param) provides it;
#  - ipx::package_project -import_files puts the project's files in the IP's synthesis file group,
#    leaving the .mem images out when CODESIGN_STUB_DROP_MEM=1 (what the packager may do);
#  - synthesis (launch_runs synth_1) opens every *.mem name an instance's parameter override in the group's HDL
#    files gives (.W_INIT("l0_w.mem")): an absolute
#    path that exists, or a name whose file is in the group; any other name -- or the file named by
#    CODESIGN_STUB_UNREADABLE_MEM -- logs "[Synth 8-4445] could not open $readmem data file" in the
#    IP's out-of-context run log, as an ERROR (run fails) if set_msg_config raised it, else a WARNING;
#  - impl_1 reports STATS.WNS / STATS.WHS from CODESIGN_STUB_WNS / CODESIGN_STUB_WHS (0.5 / 0.05)
#    and writes a bitstream file; synthesis writes the .hwh.
#  - Vitis HLS (an --ip hls package's hls/build_ip.tcl, run under this same stub): csynth_design finds
#    the set_top function in the added C++ files with an axis INTERFACE pragma on each of its stream
#    arguments and ap_ctrl_none, and every file a "firmware/..." #include names; export_design writes
#    solution/impl/ip/component.xml naming the IP config_export gave; create_bd_cell of a
#    codesign.local:hls IP finds that component.xml in a folder set as the project's ip_repo_paths.

namespace eval stub {
    variable log [open [lindex $::argv 0] w]
    variable state_file [file normalize [lindex $::argv 1]]
    variable props [dict create]
    variable params [dict create]
    variable files {}
    variable ipgroup {}
    variable busparams [dict create]
    variable memmaps {}
    variable project ""
    variable projdir ""
    variable top ""
    variable msg_error {}
    variable runs [dict create]
    variable core_name ""
    variable cells {}
    variable hls_top ""
    variable hls_solution ""
    variable hls_export {}
    variable hls_synth 0

    proc env {name default} {
        if {[info exists ::env($name)] && $::env($name) ne ""} { return $::env($name) }
        return $default
    }
    proc json_str {s} {
        return "\"[string map [list \\ \\\\ \" \\\" \n \\n \t \\t \r \\r] $s]\""
    }
    proc record {cmd args} {
        variable log
        set items {}
        foreach a $args { lappend items [json_str $a] }
        puts $log "{\"cmd\": [json_str $cmd], \"args\": \[[join $items {, }]\]}"
        flush $log
    }
    proc save_state {} {
        variable state_file; variable ipgroup; variable props; variable busparams; variable memmaps
        variable params; variable msg_error
        set p {}
        dict for {k v} $props { lappend p "[json_str $k]: [json_str $v]" }
        set b {}
        dict for {k v} $busparams { lappend b "[json_str $k]: [json_str $v]" }
        set g {}
        foreach f $ipgroup { lappend g [json_str $f] }
        set m {}
        foreach f $memmaps { lappend m [json_str $f] }
        set e {}
        foreach f $msg_error { lappend e [json_str $f] }
        set prm {}
        dict for {k v} $params { lappend prm "[json_str $k]: [json_str $v]" }
        set fh [open $state_file w]
        puts $fh "{\"ipgroup\": \[[join $g {, }]\], \"props\": {[join $p {, }]}, \"busparams\": {[join $b {, }]}, \"memmaps\": \[[join $m {, }]\], \"msg_error\": \[[join $e {, }]\], \"params\": {[join $prm {, }]}}"
        close $fh
    }
    proc opt {args name {default ""}} {
        set i [lsearch -exact $args $name]
        if {$i < 0} { return $default }
        return [lindex $args [expr {$i + 1}]]
    }
    proc positional {args} {
        # the words that are not -options (an option followed by a value when it takes one)
        set takes {-part -root_dir -vendor -library -taxonomy -rule -config -type -vlnv -of_objects -busif
                   -clock -jobs -to_step -fileset -file -id -new_severity -files -dir -all -cflags -csimflags
                   -flow_target -period -name -format -ipname -version -output}
        set out {}
        for {set i 0} {$i < [llength $args]} {incr i} {
            set a [lindex $args $i]
            if {[string match -* $a]} {
                if {$a in $takes && $a ni {-all -top -quiet}} { incr i }
                continue
            }
            lappend out $a
        }
        return $out
    }
    proc hdl_ports {path} {
        set fh [open $path r]; set text [read $fh]; close $fh
        return [regexp -all -inline {(?:input|output)\s+wire\s*(?:\[[^\]]*\])?\s*(\w+)} $text]
    }
    proc busifs {} {
        # the interfaces Vivado infers from the top's port names
        variable files; variable top
        set out {}
        foreach f $files {
            if {[file extension $f] ni {.v .sv}} continue
            set fh [open $f r]; set text [read $fh]; close $fh
            if {![regexp "module\\s+$top\\s*\\(" $text]} continue
            set names {}
            foreach {all n} [hdl_ports $f] { lappend names $n }
            foreach {busif probe} {s_axis s_axis_tdata m_axis m_axis_tdata s_axi_ctrl s_axi_ctrl_awaddr aclk aclk aresetn aresetn} {
                if {$probe in $names} { lappend out "busif:$busif" }
            }
        }
        return $out
    }
    proc synthesize_ip {} {
        # open every $readmem name of the IP's HDL files as out-of-context synthesis would
        variable ipgroup; variable msg_error; variable projdir; variable project
        set bad {}
        set unreadable [env CODESIGN_STUB_UNREADABLE_MEM ""]
        foreach f $ipgroup {
            if {[file extension $f] ni {.v .sv}} continue
            set fh [open $f r]; set text [read $fh]; close $fh
            # the names an instance overrides (.W_INIT("l0_w.mem")); a module's default parameter value is not opened
            foreach {all name} [regexp -all -inline {\.\w+\s*\(\s*"([^"]+\.mem)"\s*\)} $text] {
                set ok 0
                if {[file pathtype $name] eq "absolute" && [file exists $name]} { set ok 1 }
                foreach g $ipgroup { if {[file tail $g] eq $name && [file exists $g]} { set ok 1 } }
                if {$unreadable ne "" && [file tail $name] eq $unreadable} { set ok 0 }
                if {!$ok} { lappend bad $name }
            }
        }
        set rundir [file join $projdir $project.runs design_1_codesign_0_0_synth_1]
        file mkdir $rundir
        set fh [open [file join $rundir runme.log] w]
        set sev [expr {"Synth 8-4445" in $msg_error ? "ERROR" : "WARNING"}]
        foreach name $bad { puts $fh "$sev: \[Synth 8-4445\] could not open \$readmem data file '$name'" }
        close $fh
        return [expr {$sev eq "ERROR" && [llength $bad] > 0}]
    }
}

proc unknown {args} { error "vivado stub: command [lindex $args 0] is not modelled (add it to tests/vivado_stub.tcl)" }

proc create_project {args} {
    stub::record create_project {*}$args
    lassign [stub::positional {*}$args] name dir
    set stub::project $name
    set stub::projdir $dir
    set stub::files {}
    set stub::msg_error {}
    file mkdir $dir
    return "project:$name"
}
proc close_project {args} { stub::record close_project {*}$args; set stub::project "" }
proc current_project {args} { stub::record current_project {*}$args; return "project:$stub::project" }
proc current_fileset {args} { stub::record current_fileset {*}$args; return "fileset:sources_1" }
proc set_param {name value} {
    stub::record set_param $name $value
    dict set stub::params $name $value
}
proc set_msg_config {args} {
    stub::record set_msg_config {*}$args
    if {[string toupper [stub::opt $args -new_severity]] eq "ERROR"} { lappend stub::msg_error [stub::opt $args -id] }
}
proc get_board_parts {args} {
    stub::record get_board_parts {*}$args
    set pattern [lindex [stub::positional {*}$args] 0]
    if {[stub::env CODESIGN_STUB_NO_BOARD_FILES 0]} {
        if {![dict exists $stub::params board.repoPaths]} { return {} }
        set found 0
        foreach d [dict get $stub::params board.repoPaths] { if {[file isdirectory $d]} { set found 1 } }
        if {!$found} { return {} }
    }
    set parts [split $pattern :]
    return [join [list [string map {* stub.vendor} [lindex $parts 0]] [lindex $parts 1] [lindex $parts 2] [string map {* 1.0} [lindex $parts 3]]] :]
}
proc add_files {args} {
    stub::record add_files {*}$args
    foreach group [stub::positional {*}$args] {
        foreach f $group {
            if {![file exists $f]} { error "add_files: $f does not exist" }
            lappend stub::files [file normalize $f]
        }
    }
}
proc get_files {args} {
    stub::record get_files {*}$args
    set out {}
    foreach p [stub::positional {*}$args] {
        foreach pat $p {
            foreach f $stub::files { if {$f eq $pat || [string match *$pat $f]} { lappend out $f } }
            if {$pat eq "design_1.bd"} { lappend out $pat }
        }
    }
    return $out
}
proc set_property {args} {
    stub::record set_property {*}$args
    set pos [stub::positional {*}$args]
    if {[lindex $args 0] eq "-dict"} {
        set obj [lindex $args 2]
        foreach {k v} [lindex $args 1] { dict set stub::props "$obj|$k" $v }
        return
    }
    lassign $args prop value
    set objs [lrange $args 2 end]
    foreach objlist $objs {
        foreach obj $objlist {
            dict set stub::props "$obj|$prop" $value
            if {$prop eq "top" && $obj eq "fileset:sources_1"} { set stub::top $value }
            if {$prop eq "name" && $obj eq "core"} { set stub::core_name $value }
            if {[string match busparam:* $obj]} { dict set stub::busparams "$obj|$prop" $value }
        }
    }
}
proc get_property {prop obj} {
    stub::record get_property $prop $obj
    if {[string match run:* $obj]} {
        set run [string range $obj 4 end]
        switch -- $prop {
            DIRECTORY { return [file join $stub::projdir $stub::project.runs $run] }
            PROGRESS { return [expr {[dict exists $stub::runs $run] ? [dict get $stub::runs $run] : "0%"}] }
            STATS.WNS { return [stub::env CODESIGN_STUB_WNS 0.5] }
            STATS.WHS { return [stub::env CODESIGN_STUB_WHS 0.05] }
        }
    }
    if {[dict exists $stub::props "$obj|$prop"]} { return [dict get $stub::props "$obj|$prop"] }
    return ""
}
proc update_compile_order {args} { stub::record update_compile_order {*}$args }
proc update_ip_catalog {args} { stub::record update_ip_catalog {*}$args }
proc get_ipdefs {args} {
    stub::record get_ipdefs {*}$args
    set pattern [lindex [stub::positional {*}$args] 0]
    return [list [string map {:* :9.9} $pattern]]
}

# ---- IP packager
namespace eval ipx {}
proc ipx::package_project {args} {
    stub::record ipx::package_project {*}$args
    if {$stub::top eq ""} { error "ipx::package_project: no top set" }
    set stub::ipgroup {}
    if {"-import_files" in $args} {
        foreach f $stub::files {
            if {[file extension $f] eq ".mem" && [stub::env CODESIGN_STUB_DROP_MEM 0]} continue
            lappend stub::ipgroup $f
        }
    }
    set stub::memmaps {}
    if {"busif:s_axi_ctrl" in [stub::busifs] && ![stub::env CODESIGN_STUB_NO_MEMMAP 0]} { lappend stub::memmaps s_axi_ctrl }
    file mkdir [stub::opt $args -root_dir]
}
proc ipx::current_core {args} { stub::record ipx::current_core {*}$args; return core }
proc ipx::associate_bus_interfaces {args} {
    stub::record ipx::associate_bus_interfaces {*}$args
    set b [stub::opt $args -busif]
    if {"busif:$b" ni [stub::busifs]} { error "ipx::associate_bus_interfaces: the core has no interface $b" }
}
proc ipx::get_bus_interfaces {args} {
    stub::record ipx::get_bus_interfaces {*}$args
    set pos [stub::positional {*}$args]
    if {[llength $pos] == 0} { return [stub::busifs] }
    set out {}
    foreach n $pos { if {"busif:$n" in [stub::busifs]} { lappend out "busif:$n" } }
    return $out
}
proc ipx::get_memory_maps {args} {
    stub::record ipx::get_memory_maps {*}$args
    set n [lindex [stub::positional {*}$args] 0]
    return [expr {$n in $stub::memmaps ? "memmap:$n" : ""}]
}
proc ipx::add_memory_map {name core} { stub::record ipx::add_memory_map $name $core; lappend stub::memmaps $name; return "memmap:$name" }
proc ipx::add_address_block {name mm} { stub::record ipx::add_address_block $name $mm; return "block:$mm/$name" }
proc ipx::get_address_blocks {args} { stub::record ipx::get_address_blocks {*}$args; return "block:[stub::opt $args -of_objects]/reg0" }
proc ipx::get_file_groups {args} {
    stub::record ipx::get_file_groups {*}$args
    return "filegroup:[lindex [stub::positional {*}$args] 0]"
}
proc ipx::get_files {args} {
    stub::record ipx::get_files {*}$args
    set pat [lindex [stub::positional {*}$args] 0]
    if {[stub::opt $args -of_objects] ne "filegroup:xilinx_anylanguagesynthesis"} { return {} }
    set out {}
    foreach f $stub::ipgroup { if {$pat eq "" || [string match $pat $f]} { lappend out "ipfile:$f" } }
    return $out
}
proc ipx::add_file {path group} {
    stub::record ipx::add_file $path $group
    if {$group ne "filegroup:xilinx_anylanguagesynthesis"} { error "ipx::add_file: unknown group $group" }
    if {![file exists $path]} { error "ipx::add_file: $path does not exist" }
    lappend stub::ipgroup [file normalize $path]
    return "ipfile:[file normalize $path]"
}
proc ipx::get_bus_parameters {args} {
    stub::record ipx::get_bus_parameters {*}$args
    set name [lindex [stub::positional {*}$args] 0]
    set out {}
    foreach b [stub::opt $args -of_objects] {
        if {[dict exists $stub::busparams "busparam:$b:$name|exists"]} { lappend out "busparam:$b:$name" }
    }
    return $out
}
proc ipx::add_bus_parameter {name busif} {
    stub::record ipx::add_bus_parameter $name $busif
    dict set stub::busparams "busparam:$busif:$name|exists" 1
    return "busparam:$busif:$name"
}
proc ipx::create_xgui_files {args} { stub::record ipx::create_xgui_files {*}$args }
proc ipx::update_checksums {args} { stub::record ipx::update_checksums {*}$args }
proc ipx::check_integrity {args} { stub::record ipx::check_integrity {*}$args }
proc ipx::save_core {args} { stub::record ipx::save_core {*}$args; stub::save_state }

# ---- block design
proc create_bd_design {args} { stub::record create_bd_design {*}$args }
proc create_bd_cell {args} {
    stub::record create_bd_cell {*}$args
    set vlnv [stub::opt $args -vlnv]
    set name [lindex [stub::positional {*}$args] 0]
    if {[string match codesign.local:hls:* $vlnv]} {
        # an HLS IP: its component.xml (written by Vitis HLS' export_design) in one of the project's ip_repo_paths
        set found 0
        dict for {k v} $stub::props {
            if {![string match *|ip_repo_paths $k]} continue
            foreach d $v {
                set xml [file join $d component.xml]
                if {[file exists $xml]} {
                    set fh [open $xml r]; set text [read $fh]; close $fh
                    if {[string first "vlnv=$vlnv" $text] >= 0} { set found 1 }
                }
            }
        }
        if {!$found} { error "create_bd_cell: no IP $vlnv in the catalogue (ip_repo_paths)" }
    } elseif {[string match codesign.local:* $vlnv] && [lindex [split $vlnv :] 2] ne $stub::core_name} {
        error "create_bd_cell: no IP $vlnv in the catalogue (packaged: $stub::core_name)"
    }
    lappend stub::cells $name
    return "/$name"
}
proc apply_bd_automation {args} { stub::record apply_bd_automation {*}$args }
proc get_bd_intf_pins {args} { stub::record get_bd_intf_pins {*}$args; return "intf:[lindex $args end]" }
proc get_bd_pins {args} { stub::record get_bd_pins {*}$args; return "pin:[lindex $args end]" }
proc connect_bd_intf_net {args} { stub::record connect_bd_intf_net {*}$args }
proc connect_bd_net {args} { stub::record connect_bd_net {*}$args }
proc assign_bd_address {args} { stub::record assign_bd_address {*}$args }
proc validate_bd_design {args} { stub::record validate_bd_design {*}$args }
proc save_bd_design {args} { stub::record save_bd_design {*}$args }
proc make_wrapper {args} {
    stub::record make_wrapper {*}$args
    set f [file join $stub::projdir design_1_wrapper.v]
    set fh [open $f w]; puts $fh "// stub wrapper"; close $fh
    return $f
}

# ---- runs
proc get_runs {name} { stub::record get_runs $name; return "run:$name" }
proc launch_runs {args} {
    stub::record launch_runs {*}$args
    set run [lindex [stub::positional {*}$args] 0]
    set dir [file join $stub::projdir $stub::project.runs $run]
    file mkdir $dir
    set fh [open [file join $dir runme.log] w]; puts $fh "stub run $run"; close $fh
    if {$run eq "synth_1"} {
        set failed [stub::synthesize_ip]
        set hwh [file join $stub::projdir $stub::project.gen sources_1 bd design_1 hw_handoff]
        file mkdir $hwh
        set fh [open [file join $hwh design_1.hwh] w]; puts $fh "<stub hwh/>"; close $fh
        dict set stub::runs $run [expr {$failed ? "0%" : "100%"}]
    } else {
        if {[stub::opt $args -to_step] eq "write_bitstream"} {
            set fh [open [file join $dir design_1_wrapper.bit] w]; puts $fh "stub bitstream"; close $fh
        }
        dict set stub::runs $run "100%"
    }
}
proc wait_on_run {args} { stub::record wait_on_run {*}$args }
proc open_run {args} { stub::record open_run {*}$args }
proc report_utilization {args} { stub::record report_utilization {*}$args }
proc report_timing_summary {args} { stub::record report_timing_summary {*}$args }

# ---- Vitis HLS
proc open_project {args} {
    stub::record open_project {*}$args
    set stub::project [lindex [stub::positional {*}$args] 0]
    set stub::projdir [file normalize $stub::project]
    set stub::files {}
    set stub::hls_synth 0
    file mkdir $stub::projdir
}
proc set_top {name} { stub::record set_top $name; set stub::hls_top $name }
proc open_solution {args} {
    stub::record open_solution {*}$args
    set stub::hls_solution [lindex [stub::positional {*}$args] 0]
}
proc set_part {args} { stub::record set_part {*}$args }
proc create_clock {args} { stub::record create_clock {*}$args }
proc config_export {args} {
    stub::record config_export {*}$args
    set stub::hls_export [list [stub::opt $args -vendor] [stub::opt $args -library] [stub::opt $args -ipname] [stub::opt $args -version]]
}
proc csynth_design {args} {
    stub::record csynth_design {*}$args
    if {$stub::hls_top eq "" || $stub::hls_solution eq ""} { error "csynth_design: no top or solution" }
    set found 0
    foreach f $stub::files {
        set fh [open $f r]; set text [read $fh]; close $fh
        foreach {all inc} [regexp -all -inline {#include\s+"(firmware/[^"]+)"} $text] {
            if {![file exists [file join [file dirname $f] $inc]]} { error "csynth_design: $f includes $inc, which does not exist" }
        }
        if {![regexp [format {void\s+%s\s*\(([^)]*)\)\s*\x7b} $stub::hls_top] $text all params]} continue
        set found 1
        foreach p [split $params ,] {
            set port [lindex [regexp -all -inline {\w+} $p] end]
            if {![regexp "#pragma HLS INTERFACE axis port=$port\\M" $text]} { error "csynth_design: argument $port of $stub::hls_top has no axis INTERFACE pragma" }
        }
        if {![regexp {#pragma HLS INTERFACE ap_ctrl_none port=return} $text]} { error "csynth_design: $stub::hls_top is not free-running (ap_ctrl_none)" }
    }
    if {!$found} { error "csynth_design: no function $stub::hls_top in [llength $stub::files] added files" }
    set stub::hls_synth 1
}
proc export_design {args} {
    stub::record export_design {*}$args
    if {!$stub::hls_synth} { error "export_design: run csynth_design first" }
    if {[stub::opt $args -format] ne "ip_catalog"} { error "export_design: only -format ip_catalog is modelled" }
    set ip [file join $stub::projdir $stub::hls_solution impl ip]
    file mkdir $ip
    set fh [open [file join $ip component.xml] w]; puts $fh "<stub vlnv=[join $stub::hls_export :]/>"; close $fh
}
rename exit stub_tcl_exit
proc exit {{code 0}} { stub::record exit $code; stub::record __end__; stub::save_state; stub_tcl_exit $code }

set script [lindex $argv 2]
set argv [lrange $argv 3 end]
set argc [llength $argv]
source $script
stub::record __end__
stub::save_state
