// wmem_check.sv -- a parameter memory (as wmem) with a checker that scans it through its second port.
//
// Used instead of wmem for an engine's weight and bias/shift memories when the design is generated
// with rtl.checker: true (codesign/rtl/checker.py). Why: a bit that flips in a weight memory after
// loading (an upset, a fault written through the load port, a rowhammer-style attack) changes the
// network silently; RADAR-style group checksums of the stored words catch it without re-running
// inputs, and the memory's second port lets the check run beside the MAC: 0 added cycles.
//
// Ports: port A is the engine's read, exactly as wmem (re, raddr, rdata). Port B is shared by the
// load port's write and the checker's read (one address, so the memory stays a true dual-port block
// RAM): in a cycle with `we` the write goes in and the checker waits.
//
// Checksum: word bit j belongs to group j mod CK_W; a group's checksum is the parity (XOR) of its
// bits over every word 0 .. DEPTH-1, i.e. RADAR's interleaved group sum taken mod 2 per bit plane:
// any odd number of flips in a group changes it, so every single-bit flip is caught. GOLD holds the
// CK_W group checksums of the images generated from the spec (a parameter: no load-port write can
// change it). A scan reads DEPTH words, one a cycle (stalled only by load-port writes); at its end
// the CK_W sums are compared with GOLD and `alarm` is set on any difference. The alarm is sticky:
// only rst clears it, and rst restarts the scan at word 0 (the memory keeps its contents).
// Latency: a word changed at cycle t is in the sums of every scan that starts after t, so the alarm
// rises at most two scan periods (DEPTH cycles each) + 3 cycles after the write, one after a reset.
module wmem_check #(
    parameter int DW = 8,
    parameter int DEPTH = 16,       // words scanned (the image's words; the array spans 2**AW)
    parameter int AW = 4,
    parameter INIT = "wmem.mem",
    parameter int CK_W = 64,        // group checksum bits
    parameter logic [CK_W-1:0] GOLD = '0
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

    // port B: the load port's write, else the checker's read
    logic [AW-1:0] ck_addr;
    wire [AW-1:0] baddr = we ? waddr : ck_addr;
    logic [DW-1:0] ck_q;
    always_ff @(posedge clk) begin
        if (we) mem[baddr] <= wdata;
        ck_q <= mem[baddr];
    end

    // group parities of one word: bit j into group j mod CK_W
    function automatic logic [CK_W-1:0] fold(input logic [DW-1:0] d);
        logic [CK_W-1:0] f;
        f = '0;
        for (int j = 0; j < DW; j++) f[j % CK_W] = f[j % CK_W] ^ d[j];
        return f;
    endfunction

    // scan: address (stage 0) -> word (1) -> folded word (2) -> sums, compare at the scan's last word
    wire last0 = ck_addr == AW'(DEPTH - 1);
    logic v1, last1, v2, last2;
    logic [CK_W-1:0] f2, sums;
    always_ff @(posedge clk) begin
        last1 <= last0;
        last2 <= last1;
        f2 <= fold(ck_q);
        if (rst) begin
            ck_addr <= '0;
            v1 <= 1'b0;
            v2 <= 1'b0;
            sums <= '0;
            alarm <= 1'b0;
        end else begin
            v1 <= !we;
            v2 <= v1;
            if (!we) ck_addr <= last0 ? '0 : ck_addr + AW'(1);
            if (v2) begin
                sums <= last2 ? '0 : sums ^ f2;
                if (last2 && (sums ^ f2) != GOLD) alarm <= 1'b1;
            end
        end
    end
endmodule
