// axis_inbuf.sv -- AXI-Stream input double buffer of a folded engine (mvau, kron_matvec).
//
// A sample is BEATS beats of DW bits. The writer fills one bank from the stream while the engine
// reads the other, so in steady state the engine never waits for a load: s_tready is low only while
// the bank being written still holds a sample the engine has not released. Bank b occupies
// addresses {b, beat}: one read and one write port, never the same bank.
// Reader side: `full` says the read bank holds a whole sample; `re` registers the beat at `raddr`
// into `rdata` (the engine's stage-1 read, frozen on a stall like its other memories); `rdone`
// (one cycle) hands the read bank back to the writer and moves the reader to the other bank.
//
// WREG = 1: a registered write port, for a wide buffer fed from across the chip (a conv's mvau behind
// its window generator's FIFO, hundreds of bits wide). With WREG = 0 s_tready is a LUT of the bank
// flags and the write enable (s_tvalid && s_tready) reaches every LUT RAM cell of the buffer in the
// cycle it is decided: on the ECP5 the MNIST CNN's conv2 ran bank_full -> the FIFO's pop -> its
// ready flag at 88.76 MHz. Here s_tready is a flip-flop (the next cycle's !bank_full[wbank], so the
// same value every cycle), the beat and its address are registered, and the memory is split into
// banks of BANK_W bits (axis_inbuf_bank), each with its own copies of the write-valid and address
// registers. A bank is full one cycle later than with WREG = 0: a bank's round trip (BEATS writes, the
// stage, the reader's cycles on it) grows by one, so the buffer keeps its full rate only for a reader
// that spends at least BEATS + 1 cycles a sample (mvau NF >= 2) and whose writer has beats waiting (a
// FIFO in front); codesign/rtl/conv.py sets WREG only so.
module axis_inbuf #(
    parameter int DW = 8,
    parameter int BEATS = 4,
    parameter int BAW = BEATS > 1 ? $clog2(BEATS) : 1,   // beat address width
    parameter int WREG = 0,         // 1: registered write port, ready from a flip-flop, banked memory
    parameter int BANK_W = 32       // WREG: bits a memory bank
) (
    input  logic           clk,
    input  logic           rst,
    input  logic [DW-1:0]  s_tdata,
    input  logic           s_tvalid,
    output logic           s_tready,
    output logic           full,
    input  logic           re,
    input  logic [BAW-1:0] raddr,
    output logic [DW-1:0]  rdata,
    input  logic           rdone
);
    logic [1:0] bank_full;
    logic wbank, rbank;
    logic [BAW-1:0] wptr;
    logic ready;
    wire wr = s_tvalid && ready;
    wire wr_last = wptr == BAW'(BEATS - 1);
    assign s_tready = ready;
    assign full = bank_full[rbank];
    if (WREG == 0) begin : g_comb
        logic [DW-1:0] ibuf [0:(2<<BAW)-1];
        assign ready = !bank_full[wbank];
        always_ff @(posedge clk) begin
            if (wr) ibuf[{wbank, wptr}] <= s_tdata;
            if (re) rdata <= ibuf[{rbank, raddr}];
        end
        always_ff @(posedge clk) begin
            if (rst) begin
                bank_full <= 2'b00;
                wbank <= 1'b0;
                rbank <= 1'b0;
                wptr <= '0;
            end else begin
                if (wr) begin
                    wptr <= wr_last ? '0 : wptr + BAW'(1);
                    if (wr_last) wbank <= ~wbank;
                end
                // a bank is set full by the writer (it was empty) and cleared by the reader (it was full)
                for (int b = 0; b < 2; b++) begin
                    if (wr && wr_last && wbank == b[0]) bank_full[b] <= 1'b1;
                    else if (rdone && rbank == b[0]) bank_full[b] <= 1'b0;
                end
                if (rdone) rbank <= ~rbank;
            end
        end
    end else begin : g_reg
        localparam int NB = (DW + BANK_W - 1) / BANK_W;
        logic fill;                 // the write stage holds the last beat of a sample
        logic fbank;                // ... of this bank
        logic [1:0] full_next;
        logic wbank_next;
        always_comb begin
            // a bank is set full when its last beat leaves the write stage, cleared by the reader
            full_next = bank_full;
            for (int b = 0; b < 2; b++) begin
                if (fill && fbank == b[0]) full_next[b] = 1'b1;
                else if (rdone && rbank == b[0]) full_next[b] = 1'b0;
            end
            wbank_next = wr && wr_last ? ~wbank : wbank;
        end
        always_ff @(posedge clk) begin
            if (rst) begin
                bank_full <= 2'b00;
                wbank <= 1'b0;
                rbank <= 1'b0;
                wptr <= '0;
                fill <= 1'b0;
                ready <= 1'b1;
            end else begin
                if (wr) wptr <= wr_last ? '0 : wptr + BAW'(1);
                wbank <= wbank_next;
                fill <= wr && wr_last;
                bank_full <= full_next;
                if (rdone) rbank <= ~rbank;
                // next cycle's !bank_full[wbank] (full_next counts a last beat now in the write stage)
                ready <= !full_next[wbank_next];
            end
            if (wr) fbank <= wbank;
        end
        for (genvar b = 0; b < NB; b++) begin : g_bank
            localparam int LO = b * BANK_W;
            localparam int BW = DW - LO < BANK_W ? DW - LO : BANK_W;
            axis_inbuf_bank #(.DW(BW), .AW(BAW + 1)) u_bank (
                .clk(clk), .rst(rst), .we(wr), .waddr({wbank, wptr}), .wdata(s_tdata[LO +: BW]),
                .re(re), .raddr({rbank, raddr}), .rdata(rdata[LO +: BW])
            );
        end
    end
endmodule

// One bank of axis_inbuf's WREG memory: the registered beat slice, its own write-valid and write
// address registers, and the registered read. keep_hierarchy: the banks' stage registers are equal,
// and a flat synthesis would merge them back into the one high-fan-out register this module exists to split.
(* keep_hierarchy *)
module axis_inbuf_bank #(
    parameter int DW = 32,
    parameter int AW = 3
) (
    input  logic          clk,
    input  logic          rst,
    input  logic          we,
    input  logic [AW-1:0] waddr,
    input  logic [DW-1:0] wdata,
    input  logic          re,
    input  logic [AW-1:0] raddr,
    output logic [DW-1:0] rdata
);
    logic [DW-1:0] mem [0:(1<<AW)-1];
    logic [DW-1:0] d;
    logic [AW-1:0] a;
    logic v;
    always_ff @(posedge clk) begin
        d <= wdata;
        a <= waddr;
        if (rst) v <= 1'b0;
        else v <= we;
        if (v) mem[a] <= d;
        if (re) rdata <= mem[raddr];
    end
endmodule
