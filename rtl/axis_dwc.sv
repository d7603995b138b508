// axis_dwc.sv -- AXI-Stream width converter between engines with different lane counts.
//
// Layer l emits PE_l elements per beat, layer l+1 reads SIMD_{l+1} per beat; the generator picks
// foldings where one divides the other, so this block either splits a wide beat into K narrow ones
// (IN_N = K * OUT_N) or gathers K narrow beats into a wide one (OUT_N = K * IN_N). Element 0 sits in
// the low bits of a beat in both directions, so element order is preserved. Full rate both ways.
module axis_dwc #(
    parameter int EW = 8,
    parameter int IN_N = 4,
    parameter int OUT_N = 2
) (
    input  logic                clk,
    input  logic                rst,
    input  logic [IN_N*EW-1:0]  s_tdata,
    input  logic                s_tvalid,
    output logic                s_tready,
    output logic [OUT_N*EW-1:0] m_tdata,
    output logic                m_tvalid,
    input  logic                m_tready
);
    if (IN_N >= OUT_N) begin : g_split
        localparam int K = IN_N / OUT_N;
        localparam int KW = $clog2(K + 1);
        logic [IN_N*EW-1:0] data;
        logic valid;
        logic [KW-1:0] idx;
        wire take = valid && m_tready;
        wire last = idx == KW'(K - 1);
        assign m_tvalid = valid;
        assign m_tdata = data[idx*OUT_N*EW +: OUT_N*EW];
        assign s_tready = !valid || (take && last);
        always_ff @(posedge clk) begin
            if (rst) begin
                valid <= 1'b0;
                idx <= '0;
            end else begin
                if (take) begin
                    idx <= last ? '0 : idx + KW'(1);
                    if (last) valid <= 1'b0;
                end
                if (s_tvalid && s_tready) valid <= 1'b1;
            end
            if (s_tvalid && s_tready) data <= s_tdata;
        end
    end else begin : g_gather
        localparam int K = OUT_N / IN_N;
        localparam int KW = $clog2(K + 1);
        logic [OUT_N*EW-1:0] data;
        logic valid;
        logic [KW-1:0] idx;
        assign m_tvalid = valid;
        assign m_tdata = data;
        assign s_tready = !valid || m_tready;
        always_ff @(posedge clk) begin
            if (rst) begin
                valid <= 1'b0;
                idx <= '0;
            end else begin
                if (valid && m_tready) valid <= 1'b0;
                if (s_tvalid && s_tready) begin
                    if (idx == KW'(K - 1)) begin
                        idx <= '0;
                        valid <= 1'b1;
                    end else begin
                        idx <= idx + KW'(1);
                    end
                end
            end
            if (s_tvalid && s_tready) data[idx*IN_N*EW +: IN_N*EW] <= s_tdata;
        end
    end
endmodule
