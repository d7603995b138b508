// axis_fifo.sv -- AXI-Stream FIFO, DEPTH (a power of two) beats, full rate, first-word fall-through.
//
// Why: an engine chain has almost no buffering, so a conv engine that must walk KH-1 rows of the next
// image before its first window (rtl/swg.sv) would stall the engine upstream while it finishes the
// current image, and that engine would in turn idle while the conv waits for those rows. A FIFO of
// about (KH-1)*W + KW pixels in front of the window generator lets the upstream engine run ahead by
// the rows the next image's first window needs. Memory with an asynchronous read (LUT RAM).
//
// WREG = 1: a registered write port, for wide FIFOs (a window generator's output, hundreds of bits
// wide, whose LUT RAM spreads over the whole mvau it feeds). With the combinational port the write
// enable (s_tvalid && s_tready, s_tready from the pointers' difference) reached every LUT RAM cell in
// the cycle it was decided: on the ECP5 the MNIST CNN's conv2 window FIFO (384 bits) routed at 66 MHz,
// 12.5 of its 15.2 ns in routing that one net. Here s_tready is a register (the beats held, write stage
// included, are counted, so the capacity stays DEPTH), the beat is registered, and the memory is split
// into banks of BANK_W bits (axis_fifo_bank), each with its own copies of the write-valid and the
// write / read addresses, so no net of the FIFO fans out to more than one bank's cells or NB banks'
// registers. m_tvalid is a register too: the reader's write enable (a wide input buffer, mvau's
// axis_inbuf) starts from flip-flops. A beat is readable one cycle later than with WREG = 0 (latency,
// not throughput).
module axis_fifo #(
    parameter int DW = 8,
    parameter int DEPTH = 16,
    parameter int WREG = 0,         // 1: registered write port and banked memory (see above)
    parameter int BANK_W = 32,      // WREG: bits a memory bank
    parameter int AW = DEPTH > 1 ? $clog2(DEPTH) : 1
) (
    input  logic          clk,
    input  logic          rst,
    input  logic [DW-1:0] s_tdata,
    input  logic          s_tvalid,
    output logic          s_tready,
    output logic [DW-1:0] m_tdata,
    output logic          m_tvalid,
    input  logic          m_tready
);
    logic [AW:0] wptr, rptr;
    if (WREG == 0) begin : g_comb
        logic [DW-1:0] mem [0:(1<<AW)-1];
        wire [AW:0] used = wptr - rptr;
        assign s_tready = used != (AW + 1)'(1 << AW);
        assign m_tvalid = used != '0;
        assign m_tdata = mem[rptr[AW-1:0]];
        always_ff @(posedge clk) begin
            if (s_tvalid && s_tready) mem[wptr[AW-1:0]] <= s_tdata;
            if (rst) begin
                wptr <= '0;
                rptr <= '0;
            end else begin
                if (s_tvalid && s_tready) wptr <= wptr + (AW + 1)'(1);
                if (m_tvalid && m_tready) rptr <= rptr + (AW + 1)'(1);
            end
        end
    end else begin : g_reg
        localparam int NB = (DW + BANK_W - 1) / BANK_W;
        logic [AW:0] held;          // beats held: write stage + memory
        logic ready;                // held < DEPTH, registered
        logic wv;                   // the write stage holds a beat (this copy counts wptr)
        logic valid;                // the memory holds a beat (wptr != rptr), registered
        wire push = s_tvalid && ready;
        wire pop = m_tvalid && m_tready;
        // pop (the reader's m_tready, from across the chip) enters only the last LUT of each update: the
        // sums without it are computed from registers meanwhile (a pop with push <= ready always leaves
        // held + push - 1 < DEPTH, so ready is then 1)
        wire [AW:0] held_p = held + (AW + 1)'(push);
        wire [AW:0] held_pm = held_p - (AW + 1)'(1);
        wire [AW:0] wptr_next = wptr + (AW + 1)'(wv);
        wire [AW:0] rptr_inc = rptr + (AW + 1)'(1);
        assign s_tready = ready;
        assign m_tvalid = valid;
        always_ff @(posedge clk) begin
            if (rst) begin
                held <= '0;
                ready <= 1'b1;
                wv <= 1'b0;
                valid <= 1'b0;
                wptr <= '0;
                rptr <= '0;
            end else begin
                held <= pop ? held_pm : held_p;
                ready <= pop || held_p != (AW + 1)'(DEPTH);
                wv <= push;
                valid <= pop ? wptr_next != rptr_inc : wptr_next != rptr;
                wptr <= wptr_next;
                if (pop) rptr <= rptr_inc;
            end
        end
        for (genvar b = 0; b < NB; b++) begin : g_bank
            localparam int LO = b * BANK_W;
            localparam int BW = DW - LO < BANK_W ? DW - LO : BANK_W;
            axis_fifo_bank #(.DW(BW), .AW(AW)) u_bank (
                .clk(clk), .rst(rst), .push(push), .pop(pop),
                .s_data(s_tdata[LO +: BW]), .m_data(m_tdata[LO +: BW])
            );
        end
    end
endmodule

// One bank of axis_fifo's WREG memory: the registered beat slice, its own write-valid, write and read
// address registers. keep_hierarchy: the banks' registers are equal, and a flat synthesis would merge
// them back into the one high-fan-out register this module exists to split.
(* keep_hierarchy *)
module axis_fifo_bank #(
    parameter int DW = 32,
    parameter int AW = 4
) (
    input  logic          clk,
    input  logic          rst,
    input  logic          push,     // a beat enters the write stage
    input  logic          pop,      // the head beat leaves
    input  logic [DW-1:0] s_data,
    output logic [DW-1:0] m_data
);
    logic [DW-1:0] mem [0:(1<<AW)-1];
    logic [DW-1:0] d;
    logic v;
    logic [AW-1:0] wa, ra;
    assign m_data = mem[ra];
    always_ff @(posedge clk) begin
        d <= s_data;
        if (v) mem[wa] <= d;
        if (rst) begin
            v <= 1'b0;
            wa <= '0;
            ra <= '0;
        end else begin
            v <= push;
            if (v) wa <= wa + AW'(1);
            if (pop) ra <= ra + AW'(1);
        end
    end
endmodule
