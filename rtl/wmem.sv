// wmem.sv -- one-write-port, one-read-port memory with a registered read, initialised from a file.
//
// Holds a layer's weights (one word = the PE x SIMD weights used in one cycle) or its per-output
// parameters (bias, weight_shift). Why a write port: the run-time load port writes any word, so a
// fault campaign flips a bit or a weight update lands without re-verilating or re-synthesising.
// The registered, enable-gated read is the shape yosys maps to block RAM (the MAC engines tie the
// enable high: their pipes never stall). INIT_EN = 0 leaves the memory without an image: a
// buffer that the engine writes before it reads (kron_matvec's mid banks, wings_gen's curve and mid).
module wmem #(
    parameter int DW = 8,
    /* verilator lint_off UNUSEDPARAM */
    parameter int DEPTH = 16,       // words in use (documentation; the array spans 2**AW)
    /* verilator lint_on UNUSEDPARAM */
    parameter int AW = 4,
    parameter INIT = "wmem.mem",
    parameter int INIT_EN = 1       // 0: no $readmemh (INIT unused)
) (
    input  logic          clk,
    input  logic          re,
    input  logic [AW-1:0] raddr,
    output logic [DW-1:0] rdata,
    input  logic          we,
    input  logic [AW-1:0] waddr,
    input  logic [DW-1:0] wdata
);
    // DEPTH words are used; the array spans the whole address space (2**AW) so no index is out of range
    logic [DW-1:0] mem [0:(1<<AW)-1];
    if (INIT_EN != 0) begin : g_init
        initial $readmemh(INIT, mem);
    end
    always_ff @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) rdata <= mem[raddr];
    end
endmodule
