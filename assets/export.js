// Figures save as PNG or SVG: the "figures save as" switch sets the camera button of every
// graph. A graph applies a new config only when it next redraws, so the graphs already
// drawn are updated in place too.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    landscape: {
        imageFormat: function (format) {
            const fmt = format === 'svg' ? 'svg' : 'png';
            const outputs = window.dash_clientside.callback_context.outputs_list;
            return outputs.map(function (output) {
                const options = {format: fmt, filename: output.id, scale: fmt === 'png' ? 2 : 1};
                const drawn = document.querySelector('#' + CSS.escape(output.id) + ' .js-plotly-plot');
                if (drawn && drawn._context) {
                    drawn._context.toImageButtonOptions = options;
                }
                return {displaylogo: false, toImageButtonOptions: options};
            });
        }
    }
});
