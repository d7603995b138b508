// axis_inbuf.sv -- AXI-Stream input double buffer of a folded engine (mvau, kron_matvec).
//
// A sample is BEATS beats of DW bits. The writer fills one bank from the stream while the engine
// reads the other, so in steady state the engine never waits for a load: s_tready is low only while
// the bank being written still holds a sample the engine has not released. Bank b occupies
// addresses {b, beat}: one read and one write port, never the same bank.
// Reader side: `full` says the read bank holds a whole sample; `re` registers the beat at `raddr`
// into `rdata` (the engine's stage-1 read, frozen on a stall like its other memories); `rdone`
// (one cycle) hands the read bank back to the writer and moves the reader to the other bank.
module axis_inbuf #(
    parameter int DW = 8,
    parameter int BEATS = 4,
    parameter int BAW = BEATS > 1 ? $clog2(BEATS) : 1    // beat address width
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
    logic [DW-1:0] ibuf [0:(2<<BAW)-1];
    logic [1:0] bank_full;
    logic wbank, rbank;
    logic [BAW-1:0] wptr;
    wire wr = s_tvalid && s_tready;
    wire wr_last = wptr == BAW'(BEATS - 1);
    assign s_tready = !bank_full[wbank];
    assign full = bank_full[rbank];
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
endmodule
