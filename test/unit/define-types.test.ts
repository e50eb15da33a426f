import path from 'node:path';
import ts from 'typescript';

/**
 * definePipeline/defineStage typing, checked by the compiler: the fixture's @ts-expect-error
 * lines must all be errors (tsc reports an unused directive otherwise) and nothing else.
 */
describe('definePipeline and defineStage types', () => {
  it('type records in and out, and the setup state', () => {
    const configFile = path.join(__dirname, '../../tsconfig.json');
    const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(configFile));
    const file = path.join(__dirname, '../fixtures/types/define-types.ts');
    const program = ts.createProgram([file], { ...options, noEmit: true, declaration: false });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
    expect(problems).toEqual([]);
  });
});
