// wmem_check.sv -- a parameter memory (as wmem) with a checker that scans it through its second port.
//
// Used instead of wmem for an engine's weight and bias/shift memories when the design is generated
// with rtl.checker: true (codesign/rtl/checker.py). Why: a bit that flips in a weight memory after
// loading (an upset, a fault written through the load port, a rowhammer-style attack) changes the
// network silently; a checksum of the stored words catches it without re-running inputs, and the
// memory's second port lets the check run beside the MAC: 0 added cycles.
//
// Ports: port A is the engine's read, exactly as wmem (re, raddr, rdata). Port B is shared by the
// load port's write and the checker's read (one address, so the memory stays a true dual-port block
// RAM): in a cycle with `we` the write goes in and the checker's read waits.
//
// Checksum: a CRC-64 (polynomial x^64 + x^4 + x^3 + x + 1, primitive) of the memory's contents, words
// 0 .. DEPTH-1 in order, each word as C = ceil(DW/64) chunks of 64 bits (low chunk first): per chunk
// crc = (crc ^ chunk) * x^64 mod P, from crc = 0. Why a CRC and not an XOR of interleaved groups
// (tried first): two flips in the same group and bit plane cancel in a parity (1 in 64 of random
// pairs, 1 in 9 of pairs of sign bits, BFA's favourite), while this CRC misses no error of 1, 2 or 3
// bits and no burst up to 64 bits: an error is missed only when its polynomial is a multiple of P.
// GOLD is the CRC of the images generated from the spec (a parameter: no load-port write can change
// it). A scan reads a word (one cycle, stalled by load-port writes), then folds its C chunks (C
// cycles), DEPTH * (C + 1) cycles in all; at its end the CRC is compared with GOLD and `alarm` is set
// on a difference. The alarm is sticky: only rst clears it, and rst restarts the scan at word 0 (the
// memory keeps its contents). A word changed at cycle t is in every scan that starts after t, so the
// alarm rises at most two scan periods + 3 cycles after the write, one after a reset.
module wmem_check #(
    parameter int DW = 8,
    parameter int DEPTH = 16,       // words scanned (the image's words; the array spans 2**AW)
    parameter int AW = 4,
    parameter INIT = "wmem.mem",
    parameter logic [63:0] GOLD = '0  // CRC-64 of the spec's image (codesign/rtl/checker.py)
) (
    input  logic          clk,
    input  logic          rst,
    input  logic          re,
    input  logic [AW-1:0] raddr,
    output logic [DW-1:0] rdata,
    input  logic          we,
    input  logic [AW-1:0] waddr,
    input  logic [DW-1:0] wdata,
    output logic          alarm
);
    logic [DW-1:0] mem [0:(1<<AW)-1];
    initial $readmemh(INIT, mem);

    // port A: the engine's read (registered, enable-gated: block RAM shape)
    always_ff @(posedge clk) begin
        if (re) rdata <= mem[raddr];
    end

    // port B: the load port's write, else the checker's read (only when it needs the next word)
    localparam int C = (DW + 63) / 64;              // 64-bit chunks of a word
    localparam int CW = C > 1 ? $clog2(C) : 1;
    localparam logic [63:0] POLY = 64'h1B;          // x^4 + x^3 + x + 1 (+ x^64)
    logic [AW-1:0] ck_addr;
    logic [CW-1:0] ch;
    logic busy;                                     // ck_q holds the word whose chunks are folded
    wire rd = !we && !busy;
    wire [AW-1:0] baddr = we ? waddr : ck_addr;
    logic [DW-1:0] ck_q;
    always_ff @(posedge clk) begin
        if (we) mem[baddr] <= wdata;
        else if (rd) ck_q <= mem[baddr];
    end

    // the word zero-padded to whole chunks; (functions assign their name, not `return`, so yosys'
    // Verilog frontend reads them too)
    logic [C*64-1:0] qpad;
    always_comb begin
        qpad = '0;
        qpad[DW-1:0] = ck_q;
    end

    function automatic logic [63:0] mulx64(input logic [63:0] a);  // a * x^64 mod P
        mulx64 = a;
        for (int k = 0; k < 64; k++) mulx64 = {mulx64[62:0], 1'b0} ^ (mulx64[63] ? POLY : 64'd0);
    endfunction

    // scan: read a word -> its chunks one a cycle (stage 1: select, registered) -> CRC (stage 2)
    wire last_ch = ch == CW'(C - 1);
    wire last_w = ck_addr == AW'(DEPTH - 1);
    logic v1, fin1;
    logic [63:0] c1, crc;
    always_ff @(posedge clk) begin
        c1 <= qpad[ch * 64 +: 64];
        fin1 <= last_ch && last_w;
        if (rst) begin
            busy <= 1'b0;
            ch <= '0;
            ck_addr <= '0;
            v1 <= 1'b0;
            crc <= '0;
            alarm <= 1'b0;
        end else begin
            v1 <= busy;
            if (rd) busy <= 1'b1;
            else if (busy) begin
                ch <= last_ch ? '0 : ch + CW'(1);
                if (last_ch) begin
                    busy <= 1'b0;
                    ck_addr <= last_w ? '0 : ck_addr + AW'(1);
                end
            end
            if (v1) begin
                crc <= fin1 ? '0 : mulx64(crc ^ c1);
                if (fin1 && mulx64(crc ^ c1) != GOLD) alarm <= 1'b1;
            end
        end
    end
endmodule
